#!/usr/bin/env python3
"""test_idp_rotation.py - the provider rotates its ID token signing key, against a real
OpenID provider (oidc-provider, tests/idp/provider.mjs) and mcpgate behind Apache
mod_proxy_fcgi: one responder process, so one cached key set, the one every sign-in here
meets.

Alice signs in while the provider signs with its first key (k1); the provider rotates
(GET /__test/rotate: its key set publishes only the new key and every ID token is signed
with it); Bob's sign-in, past idp_jwks_refetch_s (1 s here), makes mcpgate fetch the key
set again (counted at the provider: exactly one fetch) and goes through. An ID token
signed with a key the provider never published is refused with the page "token signed
with an unknown key" after one more fetch, and nothing is made: no user, no browser
session, no provider tokens. Then Alice signs in again with the rotated key from the
cached set, without a fetch. TAP output."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
import npmci  # noqa: E402
from mcptest import Stack, Tap, free_port  # noqa: E402
from oauthlib import OAuth, Browser, pkce  # noqa: E402
from test_idp import Provider, finish_sign_in, location, refused  # noqa: E402

REFETCH_S = 1  # idp_jwks_refetch_s of this stack


def sign_in(o, params, login):
    """/authorize (straight to the one provider), the provider's login, the callback.
    Returns (mcpgate's answer to the callback, the browser, problems)."""
    mg = Browser()
    r = mg.get(o.authorize_url(params))
    if r.status == 303:
        r = mg.get(location(r, o.base))
    authz = r.header("Location") if r.status == 303 else None
    r, _, problems = finish_sign_in(mg, authz, r, login)
    return r, mg, problems


def signed_in(tap, st, desc, r, mg, problems, username):
    _, n = st.psql("SELECT count(*) FROM users WHERE username = '%s'" % username)
    tap.check(desc, problems or ([] if r.status == 303 and "/authorize?" in
                                 location(r, "http://x") and "mcpgate_session" in mg.cookies
                                 and n == "1" else ["not signed in (user rows: %s)" % n]), r)


def counts(st):
    _, row = st.psql("SELECT (SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM "
                     "web_sessions) || ' ' || (SELECT count(*) FROM idp_tokens)")
    return row


def jwks_fetches(pv):
    r = mcptest.request("GET", pv.issuer + "/__test/jwks")
    return (r.json or {}).get("fetches", -1) if r.status == 200 else -1


def main():
    tap = Tap()
    d = npmci.idp(tap)
    if not d:
        return tap.done()
    port = free_port()
    config = "\n".join([
        "idp = solo issuer=http://127.0.0.1:%d client_id=mcpgate-r" % port,
        "idp_allow_private = yes", "local_users = no", "register_per_hour = 100",
        "idp_jwks_refetch_s = %d" % REFETCH_S,
        "credential_key = k1:" + os.urandom(32).hex()])
    pv = None
    try:
        with Stack(tap, servers="proxy", responder=mcptest.test_responder(),
                   config_extra=config, auth="oauth") as st:
            (fe, base), = st.front_ends()
            pv = Provider(tap, d, port, [{
                "client_id": "mcpgate-r", "token_endpoint_auth_method": "none",
                "redirect_uris": [base + "/login/callback"],
                "grant_types": ["authorization_code", "refresh_token"]}])
            o = OAuth(base)
            client = o.register_public(name="rotation")
            _, challenge = pkce()
            params = o.auth_params(client["client_id"], challenge)

            r, mg, problems = sign_in(o, params, "a-1001")
            signed_in(tap, st, "%s: alice signs in with an ID token signed by the provider's "
                      "first key (k1)" % fe, r, mg, problems, "alice@solo")
            first = jwks_fetches(pv)
            tap.ok(first >= 1, "%s: mcpgate fetched the provider's key set (%d fetches)"
                   % (fe, first))

            rot = mcptest.request("GET", pv.issuer + "/__test/rotate")
            kid = (rot.json or {}).get("kid")
            keys = mcptest.request("GET", pv.issuer + "/jwks")
            tap.ok(rot.status == 200 and [k.get("kid") for k in
                                          (keys.json or {}).get("keys", [])] == [kid],
                   "the provider rotated: its key set publishes only the new key %s" % kid,
                   keys.describe())
            # the fetch above is the test's own
            before = jwks_fetches(pv)
            time.sleep(REFETCH_S + 0.5)
            r, mg, problems = sign_in(o, params, "b-2002")
            signed_in(tap, st, "%s: bob signs in with an ID token signed by the rotated key "
                      "(an unknown kid to the cached set)" % fe, r, mg, problems, "bob@solo")
            after = jwks_fetches(pv)
            tap.ok(after - before == 1, "%s: ...after exactly one key set fetch for the "
                   "unknown kid (%d)" % (fe, after - before))

            made = counts(st)
            tap.ok(pv.tamper("kid"), "the provider signs ID tokens with a key it never "
                   "published now")
            before = jwks_fetches(pv)
            time.sleep(REFETCH_S + 0.5)
            r, mg, problems = sign_in(o, params, "a-1001")
            if problems:
                tap.ok(False, "%s: an ID token signed with an unpublished key is refused" % fe,
                       *problems)
            else:
                refused(tap, "%s: an ID token signed with an unpublished key is refused: "
                        "\"token signed with an unknown key\", no session" % fe, r,
                        "token signed with an unknown key")
            tap.ok(jwks_fetches(pv) - before == 1,
                   "%s: ...after mcpgate looked at the key set again (one fetch)" % fe)
            tap.ok(counts(st) == made, "%s: ...and nothing was made: users, browser sessions "
                   "and provider tokens as before (%s)" % (fe, made), counts(st))
            pv.tamper("")

            before = jwks_fetches(pv)
            r, mg, problems = sign_in(o, params, "a-1001")
            signed_in(tap, st, "%s: alice signs in again with the rotated key" % fe, r, mg,
                      problems, "alice@solo")
            tap.ok(jwks_fetches(pv) == before,
                   "%s: ...from the cached key set, without a fetch" % fe)
            mcptest.check_logs(tap, st)
    finally:
        if pv:
            pv.stop()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

// provider.mjs - a real OpenID provider (oidc-provider) for tests/integration/test_idp.py.
//
// node provider.mjs CONFIG_JSON, where CONFIG_JSON is
//   {"port": N, "clients": [oidc-provider client metadata, ...]}
// Two accounts, alice (subject a-1001, groups staff and one that is no valid name) and bob
// (b-2002, group contractors); the devInteractions login form takes the subject as the
// login, and any other is refused, PKCE required, 60 s ID tokens, 10-minute access tokens,
// refresh tokens, the provider's own consent skipped (a grant for the requested scopes
// is made on the spot). Prints "listening PORT" when ready.
//
// For the negative cases, GET /__test/tamper?mode=M makes every later token response
// carry an ID token forged from the real one: iss (another issuer), aud (another
// audience), nonce (another nonce), expired (exp an hour ago), none (alg none, no
// signature), hs256 (HMAC with the provider's public key as the secret: key confusion),
// signature (the signature of another payload), kid (signed by a key the provider never
// published); mode= turns it off. GET /__test/refreshes counts the refresh grants answered;
// GET /__test/refuse?on=1 makes every refresh grant fail with invalid_grant (a sign-in the
// provider ended).
//
// GET /api/whoami is the provider's own API in the way of a plain OAuth 2.0 service: with a
// valid access token (any scopes) it answers {"account": {"id", "login", "email", "name",
// "groups"}} of the token's user, else 401. Token revocation (RFC 7009) is on; GET
// /__test/revocations counts the revocation requests answered. GET /__test/skew?s=N makes
// the Date header of the provider's own answers N seconds off (a clock that is wrong).
//
// GET /__test/rotate rotates the signing key: from then on the key set (/jwks) publishes
// only a new key (kid k-rotated-N, N counting the rotations) and every ID token is signed
// with it (the tamper modes still apply on top). GET /__test/jwks counts the key set
// fetches answered.
import Provider from 'oidc-provider';
import * as jose from 'jose';
import crypto from 'node:crypto';

const cfg = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${cfg.port}`;
const accounts = { // by account id, the subject; the login form takes it as the login
  'a-1001': { email: 'alice@example.org', name: 'Alice Example', preferred_username: 'alice',
    groups: ['staff', 'not a group name'] },
  'b-2002': { email: 'bob@example.org', name: 'Bob Example', preferred_username: 'bob',
    groups: ['contractors'] },
};

const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'k1', use: 'sig', alg: 'RS256' };
const publicPem = await jose.exportSPKI(publicKey);
let tamper = '';
let refreshes = 0; // refresh grants answered 200
let refuseRefresh = false;
let revocations = 0; // revocation requests answered 200
let skewS = 0; // seconds added to the Date header
let rotated = null; // { privateKey, kid, jwk } of the key in use after /__test/rotate
let rotations = 0;
let jwksFetches = 0; // key set fetches answered 200

const provider = new Provider(issuer, {
  clients: cfg.clients,
  jwks: { keys: [jwk] },
  findAccount: async (ctx, id) => {
    const a = accounts[id];
    if (!a) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...a }) };
  },
  claims: { openid: ['sub'], email: ['email'], profile: ['name', 'preferred_username', 'groups'] },
  conformIdTokenClaims: false, // name, email and preferred_username in the ID token
  pkce: { required: () => true },
  ttl: { AccessToken: 600, IdToken: 60, AuthorizationCode: 60, Interaction: 300, Session: 600, Grant: 600, RefreshToken: 600 },
  issueRefreshToken: async () => true,
  features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    grant.addOIDCClaims(['sub', 'email', 'name', 'preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
});

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function forge(idToken) {
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  const signed = (c, header = { alg: 'RS256', kid: 'k1' }) =>
    new jose.SignJWT(c).setProtectedHeader(header).sign(privateKey);
  switch (tamper) {
    case 'iss': return signed({ ...claims, iss: 'http://127.0.0.1:9/other' });
    case 'aud': return signed({ ...claims, aud: 'another-client' });
    case 'nonce': return signed({ ...claims, nonce: 'not-the-nonce' });
    case 'expired': return signed({ ...claims, iat: now - 7200, exp: now - 3600 });
    case 'none': return `${b64({ alg: 'none' })}.${b64(claims)}.`;
    case 'hs256': {
      const input = `${b64({ alg: 'HS256', kid: 'k1' })}.${b64(claims)}`;
      const mac = crypto.createHmac('sha256', publicPem).update(input).digest('base64url');
      return `${input}.${mac}`;
    }
    case 'kid': { // a key the provider never published (what a rotation looks like)
      const other = await jose.generateKeyPair('RS256');
      return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k2' })
        .sign(other.privateKey);
    }
    case 'signature': {
      const other = (await signed({ ...claims, sub: 'someone-else' })).split('.')[2];
      const parts = idToken.split('.');
      return `${parts[0]}.${parts[1]}.${other}`;
    }
    default: return idToken;
  }
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/tamper') {
    tamper = ctx.query.mode || '';
    ctx.body = { tamper };
    return;
  }
  if (ctx.path === '/__test/refreshes') {
    ctx.body = { refreshes };
    return;
  }
  if (ctx.path === '/__test/skew') {
    skewS = Number(ctx.query.s || 0);
    ctx.body = { skewS };
    return;
  }
  if (ctx.path === '/__test/rotate') {
    rotations += 1;
    const pair = await jose.generateKeyPair('RS256', { extractable: true });
    const kid = `k-rotated-${rotations}`;
    rotated = { privateKey: pair.privateKey, kid,
      jwk: { ...(await jose.exportJWK(pair.publicKey)), kid, use: 'sig', alg: 'RS256' } };
    ctx.body = { kid };
    return;
  }
  if (ctx.path === '/__test/jwks') {
    ctx.body = { fetches: jwksFetches };
    return;
  }
  if (ctx.path === '/__test/revocations') {
    ctx.body = { revocations };
    return;
  }
  if (ctx.path === '/api/whoami') {
    const m = /^Bearer (.+)$/.exec(ctx.get('authorization') || '');
    const at = m ? await provider.AccessToken.find(m[1]) : undefined;
    const a = at && accounts[at.accountId];
    if (!a) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_token' };
      return;
    }
    ctx.body = { account: { id: at.accountId, login: a.preferred_username, email: a.email,
      name: a.name, groups: a.groups } };
    return;
  }
  if (ctx.path === '/__test/refuse') {
    refuseRefresh = ctx.query.on === '1';
    ctx.body = { refuseRefresh };
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.oidc && ctx.oidc.params
      && ctx.oidc.params.grant_type === 'refresh_token') {
    if (refuseRefresh) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_grant', error_description: 'refused for the test' };
    } else if (ctx.status === 200) {
      refreshes += 1;
    }
  }
  if (skewS) {
    ctx.set('Date', new Date(Date.now() + skewS * 1000).toUTCString());
  }
  if (ctx.path === '/token/revocation' && ctx.status === 200) {
    revocations += 1;
  }
  if (ctx.path === '/jwks' && ctx.status === 200) {
    jwksFetches += 1;
    if (rotated) ctx.body = { keys: [rotated.jwk] };
  }
  if (ctx.path === '/token' && rotated && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await new jose.SignJWT(jose.decodeJwt(ctx.body.id_token))
      .setProtectedHeader({ alg: 'RS256', kid: rotated.kid }).sign(rotated.privateKey) };
  }
  if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await forge(ctx.body.id_token) };
  }
});

provider.listen(cfg.port, '127.0.0.1', () => {
  console.log(`listening ${cfg.port}`);
});

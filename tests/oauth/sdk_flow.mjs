// sdk_flow.mjs - the whole OAuth flow as the official MCP TypeScript SDK client does it
// (@modelcontextprotocol/sdk, pinned in package-lock.json), against one front end.
//
// Usage: node sdk_flow.mjs BASE_URL USER PASSWORD
// Prints one JSON line per case ({"ok", "desc", "diag"}); run.py turns them into TAP.
// Exits 0 once every case ran.
//
// The SDK's own auth flow does the protocol work: Client.connect() gets the 401, reads
// resource_metadata and scope from WWW-Authenticate, fetches the protected resource
// metadata and the authorization server metadata, registers the client dynamically,
// builds the authorization URL with PKCE S256, state and resource, and calls
// redirectToAuthorization(url). The provider below plays the user's browser: it signs in
// and allows access through the pages over HTTP (cookie jar, CSRF fields), takes the
// code from the 303's Location, and the test calls transport.finishAuth(code), which
// exchanges it. Then: reconnect, tools/list, tools/call echo; the access token revoked
// (RFC 7009) so that the next call gets 401 and the SDK refreshes the token (rotation)
// and retries by itself; and a read-only grant: write tools are not listed and calling
// one is refused with 403 insufficient_scope.
import {
  Browser,
  authorizeThroughPages,
  runCase,
  withTimeout,
  form,
  noteSecret,
  FORM_HEADERS,
  MemoryProvider,
  publicClientMetadata,
  sdkConnect,
  sdkAuthorize
} from './lib.mjs';

const [base, user, password] = process.argv.slice(2);
const mcpUrl = new URL(base + '/mcp');
const REDIRECT = 'http://127.0.0.1:9/sdk-callback';
const WRITE_TOOL = 'test_update_resource'; // TOOL_WRITE in the test responder

// An OAuthClientProvider kept in memory; redirectToAuthorization() drives the pages.
class PageDrivingProvider extends MemoryProvider {
  constructor(opts) {
    super();
    this.opts = opts;
    this.browser = new Browser();
    this.authorizationUrl = undefined;
    this.code = undefined;
    this.redirect = undefined;
    this.pageProblems = [];
  }

  get redirectUrl() {
    return REDIRECT;
  }

  get clientMetadata() {
    return publicClientMetadata(this.opts.name, REDIRECT);
  }

  async redirectToAuthorization(url) {
    this.authorizationUrl = url;
    const res = await authorizeThroughPages(this.browser, url.toString(), {
      user,
      password,
      readOnly: this.opts.readOnly
    });
    this.pageProblems = [...res.problems, ...(res.problems.length ? res.steps : [])];
    this.redirect = res.location;
    this.code = res.query ? res.query.get('code') : undefined;
    noteSecret(this.code);
    this.returnedState = res.query ? res.query.get('state') : undefined;
    this.iss = res.query ? res.query.get('iss') : undefined;
  }
}

function connect(provider, name) {
  return sdkConnect(mcpUrl, provider, name);
}

function authorize(provider, problems) {
  return sdkAuthorize(mcpUrl, provider, provider.opts.name, problems);
}

function textOf(result) {
  return result && result.content && result.content[0] ? result.content[0].text : undefined;
}

async function revokeAccessToken(provider) {
  const r = await fetch(base + '/revoke', {
    method: 'POST',
    headers: FORM_HEADERS,
    body: form({
      token: provider.tokens().access_token,
      token_type_hint: 'access_token',
      client_id: provider.clientInformation().client_id
    })
  });
  return r.status;
}

async function main() {
  const rw = new PageDrivingProvider({ name: 'mcpgate sdk oauth test' });
  let session;

  await runCase('SDK: 401 -> discovery -> registration -> authorization URL with PKCE S256', async () => {
    const problems = [];
    await authorize(rw, problems);
    const u = rw.authorizationUrl;
    if (!u) return [...problems, 'redirectToAuthorization() was not called'];
    const q = u.searchParams;
    if (u.toString().split('?')[0] !== base + '/authorize')
      problems.push(`authorization endpoint ${u}`);
    if (!rw.clientInformation() || !rw.clientInformation().client_id)
      problems.push('no client registered (saveClientInformation not called with a client_id)');
    else if (q.get('client_id') !== rw.clientInformation().client_id)
      problems.push('client_id in the URL differs from the registered one');
    if (q.get('code_challenge_method') !== 'S256') problems.push('no code_challenge_method S256');
    if (!q.get('code_challenge')) problems.push('no code_challenge');
    if (q.get('resource') !== base + '/mcp') problems.push(`resource ${q.get('resource')}`);
    if (q.get('scope') !== 'mcp:tools:read mcp:tools:write')
      problems.push(`scope ${q.get('scope')} (the WWW-Authenticate scope)`);
    return problems;
  });

  await runCase('SDK: sign-in and consent pages; code back at the redirect URI with state and iss', () => {
    const problems = [];
    if (!rw.code) problems.push(`no code in the redirect: ${rw.redirect}`, ...rw.pageProblems);
    if (!rw.redirect || !rw.redirect.startsWith(REDIRECT + '?'))
      problems.push(`redirect ${rw.redirect}`);
    if (rw.returnedState !== rw._state) problems.push('state not echoed');
    if (rw.iss !== base) problems.push(`iss ${rw.iss}`);
    return problems;
  });

  await runCase('SDK: finishAuth(code) exchanged the code: access and refresh token, scope', () => {
    const t = rw.tokens();
    if (!t) return ['no tokens saved'];
    const problems = [];
    if (!/^[A-Za-z0-9_-]{43}$/.test(t.access_token || '')) problems.push('access_token is not 256-bit base64url');
    if (!t.refresh_token) problems.push('no refresh_token');
    if (t.token_type !== 'Bearer') problems.push(`token_type ${t.token_type}`);
    if (t.scope !== 'mcp:tools:read mcp:tools:write') problems.push(`scope ${t.scope}`);
    if (!(t.expires_in > 0)) problems.push(`expires_in ${t.expires_in}`);
    return problems;
  });

  await runCase('SDK: reconnected with the token: initialize and tools/list (echo, write tools)', async () => {
    session = await connect(rw, 'sdk-oauth');
    const { tools } = await session.client.listTools();
    const names = tools.map((t) => t.name);
    const problems = [];
    if (!names.includes('echo')) problems.push(`echo not listed: ${names.join(',')}`);
    if (!names.includes(WRITE_TOOL)) problems.push(`${WRITE_TOOL} not listed for a read+write token`);
    return problems;
  });

  await runCase('SDK: tools/call echo with the access token', async () => {
    if (!session) return ['no session'];
    const r = await session.client.callTool({ name: 'echo', arguments: { message: 'oauth hello' } });
    return (textOf(r) || '').includes('oauth hello') ? [] : [`echo returned ${JSON.stringify(r)}`];
  });

  await runCase('SDK: access token revoked (RFC 7009) -> 401 -> SDK refreshes (rotated) and retries', async () => {
    if (!session) return ['no session'];
    const before = rw.tokens();
    const status = await revokeAccessToken(rw);
    const problems = [];
    if (status !== 200) problems.push(`/revoke answered ${status}`);
    const r = await session.client.callTool({ name: 'echo', arguments: { message: 'after refresh' } });
    if (!(textOf(r) || '').includes('after refresh')) problems.push(`echo returned ${JSON.stringify(r)}`);
    const after = rw.tokens();
    if (after.access_token === before.access_token) problems.push('access token not replaced');
    if (!after.refresh_token || after.refresh_token === before.refresh_token)
      problems.push('refresh token not rotated');
    if (rw.saved.length !== 2) problems.push(`saveTokens called ${rw.saved.length} times, expected 2`);
    return problems;
  });

  await runCase('SDK: the refreshed token keeps working (tools/list again)', async () => {
    if (!session) return ['no session'];
    const { tools } = await session.client.listTools();
    return tools.some((t) => t.name === 'echo') ? [] : ['echo not listed'];
  });
  if (session) await session.client.close().catch(() => {});

  // A second client, granted read-only on the consent page.
  const ro = new PageDrivingProvider({ name: 'mcpgate sdk read-only test', readOnly: true });
  let roSession;
  await runCase('SDK: read-only consent: token scope mcp:tools:read', async () => {
    const problems = [];
    await authorize(ro, problems);
    const t = ro.tokens();
    if (!t) return [...problems, 'no tokens'];
    if (t.scope !== 'mcp:tools:read') problems.push(`scope ${t.scope}`);
    return problems;
  });

  await runCase('SDK: read-only token: tools/list hides the write tools, echo still works', async () => {
    roSession = await connect(ro, 'sdk-oauth-ro');
    const { tools } = await roSession.client.listTools();
    const names = tools.map((t) => t.name);
    const problems = [];
    if (names.includes(WRITE_TOOL)) problems.push(`${WRITE_TOOL} listed for a read-only token`);
    if (tools.some((t) => !(t.annotations && t.annotations.readOnlyHint)))
      problems.push('a tool without readOnlyHint is listed');
    const r = await roSession.client.callTool({ name: 'echo', arguments: { message: 'ro' } });
    if (textOf(r) === undefined) problems.push('echo failed');
    return problems;
  });

  await runCase('SDK: read-only token and a write tool: refused with HTTP 403', async () => {
    if (!roSession) return ['no session'];
    try {
      const r = await roSession.client.callTool({ name: WRITE_TOOL, arguments: { uri: 'test://x' } });
      return [`the call succeeded: ${JSON.stringify(r)}`];
    } catch (e) {
      return e && (e.code === 403 || /403/.test(String(e.message))) ? [] : [`error ${e}`];
    }
  });
  if (roSession) await roSession.client.close().catch(() => {});
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`sdk_flow.mjs: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  }
);

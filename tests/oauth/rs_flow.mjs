// rs_flow.mjs - an MCP client that has never seen mcpgate's own authorization server, against
// mcpgate in resource-server mode (auth = resource) behind one front end: the official MCP
// TypeScript SDK client's OAuth support (@modelcontextprotocol/sdk) with the sign-in at the
// external issuer (oidc-provider, tests/idp/resource_server.mjs) in headless Chromium.
//
// Usage: node rs_flow.mjs BASE_URL ISSUER LOGIN FORMAT ARTIFACT_DIR PREFIX
//   FORMAT: jwt (the issuer's access tokens are JWTs) or opaque (checked by introspection)
// Prints one JSON line per case ({"ok", "desc", "diag"}); resource.py turns them into TAP.
// Exits 0 once every case ran.
//
// The SDK does the protocol work: Client.connect() gets mcpgate's 401, reads
// resource_metadata from WWW-Authenticate, fetches the protected resource metadata (RFC
// 9728), takes the issuer they name, fetches that issuer's metadata, registers the client
// there (RFC 7591) and builds the authorization URL with PKCE S256 and resource =
// BASE_URL/mcp (RFC 8707). redirectToAuthorization(url) opens it in Chromium, signs in at
// the issuer's login page and waits for the code at the client's redirect URI;
// transport.finishAuth(code) exchanges it at the issuer. Then tools/list and tools/call
// through mcpgate with that token; the same token with one character changed is refused.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  runCase,
  withTimeout,
  noteSecret,
  withChromium,
  SLOW,
  MemoryProvider,
  mcpStatus
} from './lib.mjs';

const [base, issuer, login, format, artifactDir, prefix] = process.argv.slice(2);
const mcpUrl = new URL(base + '/mcp');
const STEP_MS = 15000 * SLOW;
const WRITE_TOOL = 'test_update_resource'; // TOOL_WRITE in the test responder

// An OAuthClientProvider kept in memory whose redirectToAuthorization() is the person in
// Chromium at the issuer's pages.
class ChromiumProvider extends MemoryProvider {
  constructor(page, redirect) {
    super();
    this.page = page;
    this.redirect = redirect;
    this.authorizationUrl = undefined;
    this.callback = undefined;
    this.problems = [];
    this.steps = [];
  }

  get redirectUrl() {
    return this.redirect;
  }

  get clientMetadata() {
    return {
      client_name: `mcpgate resource-server test ${prefix}`,
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    };
  }

  async screenshot(name) {
    await this.page.screenshot({ path: join(artifactDir, `${prefix}-${name}.png`), fullPage: true });
  }

  async redirectToAuthorization(url) {
    this.authorizationUrl = url;
    const page = this.page;
    try {
      await page.goto(url.toString());
      this.steps.push(`opened ${new URL(page.url()).origin}${new URL(page.url()).pathname}`);
      const field = page.locator('input[name="login"]');
      await field.waitFor({ timeout: STEP_MS });
      this.loginPageOrigin = new URL(page.url()).origin;
      await this.screenshot('1-issuer-login');
      await field.fill(login);
      await page.locator('input[name="password"]').fill('any password');
      await Promise.all([
        page.waitForURL((u) => u.toString().startsWith(this.redirect + '?'), { timeout: STEP_MS }),
        page.locator('button[type="submit"]').first().click()
      ]);
      await this.screenshot('2-client-callback');
      this.callback = new URL(page.url());
      noteSecret(this.callback.searchParams.get('code'));
    } catch (e) {
      this.problems.push(`at ${page.url()}: ${e && e.message ? e.message.split('\n')[0] : e}`);
      await this.screenshot('error').catch(() => {});
    }
  }
}

function jwtPayload(token) {
  const parts = (token || '').split('.');
  if (parts.length !== 3) return undefined;
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  } catch {
    return undefined;
  }
}

function textOf(result) {
  return result && result.content && result.content[0] ? result.content[0].text : undefined;
}

async function connect(provider, name) {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  await withTimeout(client.connect(transport), 15000, 'connect');
  return client;
}

async function run(page, redirect) {
  const pv = new ChromiumProvider(page, redirect);

  await runCase("SDK: mcpgate's 401 -> resource metadata -> the external issuer: registered there, authorization URL at the issuer with PKCE S256 and resource", async () => {
    const problems = [];
    const client = new Client({ name: 'rs-sdk', version: '1.0.0' }, { capabilities: {} });
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: pv });
    let err;
    try {
      await withTimeout(client.connect(transport), 60000, 'first connect');
      problems.push('connect() without a token succeeded');
    } catch (e) {
      err = e;
    }
    if (!(err instanceof UnauthorizedError))
      problems.push(`connect() failed with ${err}, expected UnauthorizedError`);
    const u = pv.authorizationUrl;
    if (!u) return [...problems, 'redirectToAuthorization() was not called'];
    const q = u.searchParams;
    if (u.origin !== issuer) problems.push(`authorization URL at ${u.origin}, not the issuer ${issuer}`);
    const info = pv.clientInformation();
    if (!info || !info.client_id) problems.push('no client registered at the issuer');
    else if (q.get('client_id') !== info.client_id) problems.push('client_id differs from the registered one');
    if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) problems.push('no PKCE S256');
    if (q.get('resource') !== base + '/mcp') problems.push(`resource ${q.get('resource')}`);
    if (!(q.get('scope') || '').split(' ').includes('mcp.write'))
      problems.push(`scope ${q.get('scope')}: not the metadata's scopes`);
    pv.firstTransport = transport;
    return problems;
  }, 90000);

  await runCase("chromium: the person signs in at the issuer's login page; the code comes back to the client with its state", () => {
    const problems = [...pv.problems];
    if (pv.loginPageOrigin !== issuer) problems.push(`login page at ${pv.loginPageOrigin}`);
    const q = pv.callback ? pv.callback.searchParams : new URLSearchParams();
    if (!q.get('code')) problems.push(`no code at the redirect URI: ${pv.callback}`, ...pv.steps);
    if (q.get('state') !== pv._state) problems.push('state not echoed');
    if (q.get('iss') && q.get('iss') !== issuer) problems.push(`iss ${q.get('iss')}`);
    return problems;
  });

  await runCase(`SDK: finishAuth(code) at the issuer: ${format === 'jwt' ? 'a JWT' : 'an opaque'} access token for ${base}/mcp`, async () => {
    const code = pv.callback && pv.callback.searchParams.get('code');
    if (!code) return ['no code'];
    await pv.firstTransport.finishAuth(code);
    await pv.firstTransport.close().catch(() => {});
    const t = pv.tokens();
    if (!t || !t.access_token) return ['no tokens saved'];
    const problems = [];
    if (t.token_type !== 'Bearer') problems.push(`token_type ${t.token_type}`);
    const claims = jwtPayload(t.access_token);
    if (format === 'jwt') {
      if (!claims) problems.push('the access token is not a JWT');
      else {
        const aud = [].concat(claims.aud || []);
        if (!aud.includes(base + '/mcp')) problems.push(`aud ${JSON.stringify(claims.aud)}`);
        if (claims.iss !== issuer) problems.push(`iss ${claims.iss}`);
        if (claims.sub !== login) problems.push(`sub ${claims.sub}`);
      }
    } else if (claims || t.access_token.includes('.')) {
      problems.push('the access token is a JWT, expected an opaque one');
    }
    return problems;
  });

  let client;
  await runCase('SDK: reconnected with the token: tools/list through mcpgate (echo and a write tool)', async () => {
    if (!pv.tokens()) return ['no token'];
    client = await connect(pv, 'rs-sdk');
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    const problems = [];
    if (!names.includes('echo')) problems.push(`echo not listed: ${names.join(',')}`);
    if (!names.includes(WRITE_TOOL)) problems.push(`${WRITE_TOOL} not listed for mcp.read mcp.write`);
    return problems;
  });

  await runCase('SDK: tools/call echo through mcpgate with the issuer\'s token', async () => {
    if (!client) return ['no session'];
    const r = await client.callTool({ name: 'echo', arguments: { message: `rs ${prefix}` } });
    return (textOf(r) || '').includes(`rs ${prefix}`) ? [] : [`echo returned ${JSON.stringify(r)}`];
  });
  if (client) await client.close().catch(() => {});

  await runCase('the same token with one character changed: 401 invalid_token', async () => {
    const t = pv.tokens();
    if (!t) return ['no token'];
    const s = t.access_token;
    const i = s.length - 10; // in a JWT's signature
    const r = await mcpStatus(mcpUrl, s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1));
    return r.status === 401 && r.wwwAuth.includes('error="invalid_token"')
      ? []
      : [`answered ${r.status}, WWW-Authenticate: ${r.wwwAuth}`];
  });
}

function main() {
  return withChromium(artifactDir, async (browser, redirect) => {
    const page = browser.pages()[0] || (await browser.newPage());
    page.setDefaultTimeout(STEP_MS);
    await run(page, redirect);
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`rs_flow.mjs: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  }
);

// sdk_idp.mjs - a real MCP client signs its user in at mcpgate's one upstream identity
// provider, against one front end: the official TypeScript SDK client's OAuth support
// (@modelcontextprotocol/sdk) with the pages in headless Chromium (playwright-core), both
// pinned in package-lock.json.
//
// Usage: node sdk_idp.mjs CONFIG_JSON, where CONFIG_JSON is
//   {"base": mcpgate's URL, "issuer": the provider's, "tool": the from_idp tool,
//    "artifacts": screenshot directory, "prefix": screenshot name prefix,
//    "users": [{"login": the provider's login (its subject), "username": mcpgate's user
//               name, "projects": [what the backend lists for that user]}, ...]}
// Prints one JSON line per case ({"ok", "desc", "diag"}); sdk_idp.py turns them into TAP.
// Exits 0 once every case ran.
//
// For each user, in a new tab with all cookies cleared (signed out at mcpgate and at the
// provider): Client.connect() gets mcpgate's 401, discovers the metadata, registers (DCR)
// and calls redirectToAuthorization(url), which opens the URL in Chromium: mcpgate's
// /authorize goes straight to the provider (one provider, no local users), Chromium signs
// in on the provider's own login page (and its consent page, if one is shown), comes back
// through mcpgate's callback to mcpgate's consent page, allows, and lands at the SDK's
// redirect URI with the code. finishAuth(code) gets mcpgate's token; the client
// reconnects, lists the tools and calls the tool whose backend credential slot is the
// user's provider token (from_idp): the backend checks that token at the provider and
// answers with its subject and that subject's projects.
import { join } from 'node:path';
import {
  runCase,
  withTimeout,
  noteSecret,
  SLOW,
  withChromium,
  MemoryProvider,
  publicClientMetadata,
  sdkAuthorize,
  sdkConnect
} from './lib.mjs';

const cfg = JSON.parse(process.argv[2]);
const base = cfg.base;
const mcpUrl = new URL(base + '/mcp');
const STEP_MS = 15000 * SLOW;
let shot = 0;

async function screenshot(page, name) {
  shot += 1;
  const file = join(cfg.artifacts, `${cfg.prefix}-${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
}

// Clicks selector on page and waits until the page has left url.
async function clickAway(page, selector, url) {
  await Promise.all([
    page.waitForURL((u) => u.toString() !== url, { waitUntil: 'domcontentloaded' }),
    page.click(selector)
  ]);
}

// The SDK's OAuthClientProvider whose redirectToAuthorization() is Chromium's.
class ChromiumProvider extends MemoryProvider {
  constructor(name, redirect, page, user) {
    super();
    this.name = name;
    this._redirect = redirect;
    this.authorizationUrl = undefined;
    this.page = page;
    this.user = user;
    this.pageProblems = [];
    this.steps = []; // what the browser went through: provider-login, mcpgate-consent, ...
    this.navigations = []; // every main-frame navigation request, redirects included
    this.consent = undefined; // what mcpgate's consent page showed
    page.on('request', (r) => {
      if (r.isNavigationRequest() && r.frame() === page.mainFrame())
        this.navigations.push(`${r.method()} ${r.url()}`);
    });
  }

  get redirectUrl() {
    return this._redirect;
  }

  get clientMetadata() {
    return publicClientMetadata(this.name, this._redirect);
  }

  async redirectToAuthorization(url) {
    this.authorizationUrl = url;
    const { page } = this;
    const issuer = new URL(cfg.issuer).origin;
    const mine = new URL(base).origin;
    await page.goto(url.toString(), { waitUntil: 'domcontentloaded' });
    for (let step = 0; step < 8; step++) {
      const here = page.url();
      if (here.startsWith(this.redirectUrl + '?')) break;
      const origin = new URL(here).origin;
      if (origin === issuer && (await page.locator('input[name="login"]').count())) {
        this.steps.push('provider-login');
        await screenshot(page, `${this.user.login}-provider-login`);
        await page.fill('input[name="login"]', this.user.login);
        await page.fill('input[name="password"]', 'any password');
        await clickAway(page, 'button[type="submit"]', here);
      } else if (origin === issuer && (await page.locator('button[type="submit"]').count())) {
        this.steps.push('provider-consent');
        await screenshot(page, `${this.user.login}-provider-consent`);
        await clickAway(page, 'button[type="submit"]', here);
      } else if (origin === mine && (await page.locator('#allow').count())) {
        this.steps.push('mcpgate-consent');
        this.consent = {
          client: await page.locator('#client-name').innerText(),
          text: await page.locator('body').innerText()
        };
        await screenshot(page, `${this.user.login}-mcpgate-consent`);
        await clickAway(page, '#allow', here);
      } else {
        this.steps.push(`unexpected page ${here}`);
        await screenshot(page, `${this.user.login}-unexpected`);
        this.pageProblems.push(`unexpected page ${here}: ${(await page.locator('body')
          .innerText().catch(() => '')).slice(0, 300)}`);
        return;
      }
    }
    const q = new URL(page.url()).searchParams;
    this.redirect = page.url();
    this.code = q.get('code') || undefined;
    this.returnedState = q.get('state');
    this.iss = q.get('iss');
    noteSecret(this.code);
    if (!this.code) this.pageProblems.push(`no code at the redirect: ${page.url()}`);
  }
}

function textOf(result) {
  return result && result.content && result.content[0] ? result.content[0].text : undefined;
}

// One user's whole flow in Chromium's context (signed out of everything first).
async function oneUser(context, redirect, user) {
  await context.clearCookies();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  const who = user.username;
  const provider = new ChromiumProvider(`MCP SDK client ${cfg.prefix}`, redirect, page, user);
  let session;
  try {
    await runCase(`${who}: SDK: 401 -> discovery -> DCR -> mcpgate's authorization URL with PKCE S256`,
      async () => {
        const problems = [];
        await sdkAuthorize(mcpUrl, provider, `sdk-idp-${user.login}`, problems, 60000);
        const u = provider.authorizationUrl;
        if (!u) return [...problems, 'redirectToAuthorization() was not called'];
        if (u.toString().split('?')[0] !== base + '/authorize')
          problems.push(`authorization endpoint ${u}`);
        const info = provider.clientInformation();
        if (!info || !info.client_id) problems.push('no client registered');
        else if (u.searchParams.get('client_id') !== info.client_id)
          problems.push('client_id in the URL differs from the registered one');
        if (u.searchParams.get('code_challenge_method') !== 'S256')
          problems.push('no code_challenge_method S256');
        if (u.searchParams.get('resource') !== base + '/mcp')
          problems.push(`resource ${u.searchParams.get('resource')}`);
        return problems;
      }, 90000);

    await runCase(`${who}: Chromium: /authorize went straight to the provider; its login page, ` +
      "then mcpgate's consent naming the client and the user", () => {
      const problems = [];
      const nav = provider.navigations.map((n) => n.replace(/\?.*/, ''));
      const at = (i) => nav[i] || '(none)';
      if (at(0) !== `GET ${base}/authorize`) problems.push(`first navigation ${at(0)}`);
      if (at(1) !== `GET ${base}/login/idp`) problems.push(`second navigation ${at(1)}`);
      if (!at(2).startsWith(`GET ${cfg.issuer}/`)) problems.push(`third navigation ${at(2)}`);
      if (nav.some((n) => n === `GET ${base}/login`)) problems.push("mcpgate's sign-in page was shown");
      if (!nav.some((n) => n === `GET ${base}/login/callback`)) problems.push('no callback at mcpgate');
      const steps = provider.steps.filter((s) => s !== 'provider-consent');
      if (steps.join(' ') !== 'provider-login mcpgate-consent')
        problems.push(`pages: ${provider.steps.join(', ')}`);
      const c = provider.consent;
      if (!c) problems.push('no consent page at mcpgate');
      else {
        if (c.client !== provider.name) problems.push(`consent names the client ${c.client}`);
        if (!c.text.includes(who)) problems.push(`consent page does not name ${who}`);
      }
      if (problems.length) problems.push(`navigations: ${nav.join(' | ')}`, ...provider.pageProblems);
      return problems;
    });

    await runCase(`${who}: Chromium: allowed -> code at the SDK's redirect URI with state and iss`, () => {
      const problems = [];
      if (!provider.code) problems.push(`no code: ${provider.redirect}`, ...provider.pageProblems);
      if (provider.returnedState !== provider._state) problems.push('state not echoed');
      if (provider.iss !== base) problems.push(`iss ${provider.iss}`);
      return problems;
    });

    await runCase(`${who}: SDK: finishAuth(code) got mcpgate's own access and refresh token`, () => {
      const t = provider.tokens();
      if (!t) return ['no tokens saved'];
      const problems = [];
      if (!/^[A-Za-z0-9_-]{43}$/.test(t.access_token || '')) problems.push('access_token is not mcpgate\'s');
      if (!t.refresh_token) problems.push('no refresh_token');
      return problems;
    });

    await runCase(`${who}: SDK: reconnected with the token; tools/list has ${cfg.tool}`, async () => {
      session = await sdkConnect(mcpUrl, provider, `sdk-idp-${user.login}`);
      const { tools } = await session.client.listTools();
      const names = tools.map((t) => t.name);
      return names.includes(cfg.tool) ? [] : [`${cfg.tool} not listed: ${names.join(',')}`];
    });

    await runCase(`${who}: SDK: ${cfg.tool} reached the backend with ${who}'s own provider token: ` +
      'the provider names that user, and the backend lists their projects only', async () => {
      if (!session) return ['no session'];
      const r = await withTimeout(session.client.callTool({ name: cfg.tool, arguments: {} }),
        30000, 'tools/call');
      const text = textOf(r) || '';
      let body;
      try {
        body = JSON.parse(text);
      } catch (e) {
        return [`tool result is not the backend's JSON: ${JSON.stringify(r).slice(0, 400)}`];
      }
      const problems = [];
      if (r.isError) problems.push(`isError: ${text.slice(0, 300)}`);
      if (body.sub !== user.login) problems.push(`the provider says the token is ${body.sub}'s`);
      if (JSON.stringify(body.projects) !== JSON.stringify(user.projects))
        problems.push(`projects ${JSON.stringify(body.projects)}`);
      if (body.operator_key !== 'ok') problems.push(`operator key ${body.operator_key}`);
      return problems;
    });
  } finally {
    if (session) await session.client.close().catch(() => {});
    await page.close().catch(() => {});
  }
}

function main() {
  return withChromium(cfg.artifacts, async (context, redirect) => {
    for (const user of cfg.users) await oneUser(context, redirect, user);
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`sdk_idp.mjs: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  }
);

// browser.mjs - the sign-in, consent and account pages in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core, pinned in package-lock.json), against one
// front end.
//
// Usage: node browser.mjs BASE_URL USER PASSWORD ARTIFACT_DIR [PREFIX]
// Prints one JSON line per case ({"ok", "desc", "diag"}); run.py turns them into TAP.
// Screenshots of every page go to ARTIFACT_DIR/PREFIX-NN-name.png.
//
// A real browser matters here for what HTTP clients do not check: that Chromium stores
// the Secure, HttpOnly, SameSite cookies over http://127.0.0.1 (a secure context), that
// the forms submit (CSRF fields, the read-only box), and that the 303s lead where they
// should. Cases: sign in; consent naming the client, its redirect host and the scopes;
// allow -> the code arrives at the client's redirect URI with state and iss; the code
// exchanged, the token works; a second client allowed read-only; both listed on the
// account page with their access and last use; an API key created there, and the
// account tables fit at 1280 and 800 px wide (every date on one line); one application
// disconnected there, after which its token gets 401 and the other still works.
import { join } from 'node:path';
import {
  pkce,
  runCase,
  form,
  noteSecret,
  FORM_HEADERS,
  SLOW,
  withChromium,
  mcpStatus as mcpStatusAt
} from './lib.mjs';

const [base, user, password, artifactDir, prefix = 'oauth'] = process.argv.slice(2);
const STEP_MS = 15000 * SLOW;
let shot = 0;

async function screenshot(page, name) {
  shot += 1;
  const file = join(artifactDir, `${prefix}-${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function register(name, redirect) {
  const r = await fetch(base + '/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: [redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    })
  });
  if (r.status !== 201) throw new Error(`registration answered ${r.status}`);
  return r.json();
}

function authorizeUrl(client, redirect, challenge, state) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirect,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    scope: 'mcp:tools:read mcp:tools:write',
    resource: base + '/mcp'
  });
  return `${base}/authorize?${q}`;
}

async function exchange(client, code, verifier, redirect) {
  const r = await fetch(base + '/token', {
    method: 'POST',
    headers: FORM_HEADERS,
    body: form({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirect,
      client_id: client.client_id,
      resource: base + '/mcp'
    })
  });
  const json = await r.json().catch(() => ({}));
  noteSecret(code);
  noteSecret(json.access_token);
  noteSecret(json.refresh_token);
  return { status: r.status, json };
}

// POST initialize to /mcp with the token; returns the HTTP status and WWW-Authenticate.
function mcpStatus(token) {
  return mcpStatusAt(base + '/mcp', token);
}

// Waits until the page is at the client's redirect URI; returns its query.
async function waitForCallback(page, redirect) {
  await page.waitForURL((u) => u.toString().startsWith(redirect + '?'), { timeout: STEP_MS });
  return new URL(page.url()).searchParams;
}

function main() {
  return withChromium(artifactDir, run);
}

async function run(context, redirect) {
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(STEP_MS);
  const appName = `Chromium test app ${prefix}`;
  const roName = `Chromium read-only app ${prefix}`;
  const rw = { client: await register(appName, redirect), ...pkce(), state: 'st-rw-' + prefix };
  const ro = { client: await register(roName, redirect), ...pkce(), state: 'st-ro-' + prefix };
  let consentResponse;

  await runCase('chromium: /authorize while signed out shows the sign-in page', async () => {
    await page.goto(authorizeUrl(rw.client, redirect, rw.challenge, rw.state));
    const problems = [];
    if (!(await page.locator('h1').innerText()).includes('Sign in')) problems.push('no sign-in page');
    if (!new URL(page.url()).pathname.endsWith('/login')) problems.push(`at ${page.url()}`);
    await screenshot(page, 'sign-in');
    return problems;
  });

  await runCase('chromium: sign in -> consent page naming the client, its redirect host and scopes', async () => {
    await page.fill('#username', user);
    await page.fill('#password', password);
    [consentResponse] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/authorize')),
      page.click('#signin')
    ]);
    await page.waitForSelector('#allow');
    const problems = [];
    const name = await page.locator('#client-name').innerText();
    if (name !== appName) problems.push(`client name ${name}`);
    const host = await page.locator('#redirect-host').innerText();
    if (host !== new URL(redirect).host) problems.push(`redirect host ${host}`);
    const scopes = await page.locator('#scopes').innerText();
    if (!scopes.includes('mcp:tools:read') || !scopes.includes('mcp:tools:write'))
      problems.push(`scopes ${scopes}`);
    if (!(await page.locator('#read-only').count())) problems.push('no read-only box');
    await screenshot(page, 'consent');
    return problems;
  });

  await runCase('chromium: cookies stored Secure, HttpOnly, SameSite=Lax over http://127.0.0.1', async () => {
    // all cookies: Playwright's URL filter would leave out Secure ones for an http URL
    const host = new URL(base).hostname;
    const cookies = (await context.cookies()).filter((c) => c.domain === host);
    const problems = [];
    for (const name of ['mcpgate_session', 'mcpgate_csrf']) {
      const c = cookies.find((x) => x.name === name);
      if (!c) problems.push(`${name} not stored by Chromium`);
      else if (!c.secure || !c.httpOnly || c.sameSite !== 'Lax')
        problems.push(`${name}: secure=${c.secure} httpOnly=${c.httpOnly} sameSite=${c.sameSite}`);
    }
    return problems;
  });

  await runCase("chromium: pages say frame-ancestors 'none', no-store", async () => {
    if (!consentResponse) return ['no consent page response'];
    const h = await consentResponse.allHeaders();
    const problems = [];
    if (!(h['content-security-policy'] || '').includes("frame-ancestors 'none'"))
      problems.push(`CSP ${h['content-security-policy']}`);
    if (!(h['cache-control'] || '').includes('no-store')) problems.push(`Cache-Control ${h['cache-control']}`);
    if ((h['x-frame-options'] || '').toUpperCase() !== 'DENY') problems.push('no X-Frame-Options DENY');
    return problems;
  });

  await runCase('chromium: allow -> code at the redirect URI with state and iss; token works', async () => {
    await page.click('#allow');
    const q = await waitForCallback(page, redirect);
    const problems = [];
    if (q.get('state') !== rw.state) problems.push(`state ${q.get('state')}`);
    if (q.get('iss') !== base) problems.push(`iss ${q.get('iss')}`);
    const t = await exchange(rw.client, q.get('code'), rw.verifier, redirect);
    if (t.status !== 200) return [...problems, `token: ${t.status} ${JSON.stringify(t.json)}`];
    rw.token = t.json.access_token;
    const m = await mcpStatus(rw.token);
    if (m.status !== 200) problems.push(`/mcp with the token: ${m.status}`);
    return problems;
  });

  await runCase('chromium: second client allowed with the read-only box: scope mcp:tools:read', async () => {
    await page.goto(authorizeUrl(ro.client, redirect, ro.challenge, ro.state));
    await page.waitForSelector('#allow'); // signed in already: straight to consent
    await page.check('#read-only');
    await screenshot(page, 'consent-read-only');
    await page.click('#allow');
    const q = await waitForCallback(page, redirect);
    const t = await exchange(ro.client, q.get('code'), ro.verifier, redirect);
    if (t.status !== 200) return [`token: ${t.status} ${JSON.stringify(t.json)}`];
    ro.token = t.json.access_token;
    const problems = [];
    if (t.json.scope !== 'mcp:tools:read') problems.push(`scope ${t.json.scope}`);
    if ((await mcpStatus(ro.token)).status !== 200) problems.push('read-only token refused at /mcp');
    return problems;
  });

  await runCase('chromium: account page lists both applications with access and last use', async () => {
    await page.goto(base + '/account');
    const rows = page.locator('#apps tr.app');
    const text = (await rows.allInnerTexts()).join('\n');
    const problems = [];
    for (const [name, client, scope] of [
      [appName, rw.client, 'mcp:tools:read mcp:tools:write'],
      [roName, ro.client, 'mcp:tools:read']
    ]) {
      const row = rows.filter({ hasText: name });
      if ((await row.count()) !== 1) {
        problems.push(`${name} not listed once: ${text}`);
        continue;
      }
      const cells = (await row.locator('td').allInnerTexts()).map((c) => c.trim());
      if (!cells[0].includes(client.client_id)) problems.push(`${name}: client id not shown`);
      if (cells[1] !== scope) problems.push(`${name}: access ${cells[1]}, expected ${scope}`);
    }
    const roRow = (await rows.filter({ hasText: roName }).innerText()).replace(/\s+/g, ' ');
    if (/never/.test(roRow)) problems.push(`last use not recorded: ${roRow}`);
    await screenshot(page, 'account');
    return problems;
  });

  await runCase('chromium: account tables fit at 1280 and 800 px: a date is one line', async () => {
    // an API key too, so the widest table (name, access, created, last used) is there
    await page.fill('#key-name', `laptop ${prefix}`);
    await Promise.all([
      page.waitForURL((u) => new URL(u).pathname.endsWith('/account')),
      page.click('#create-key')
    ]);
    await page.waitForLoadState();
    const problems = [];
    const newKey = await page.locator('#new-key').innerText().catch(() => '');
    if (!newKey) problems.push('no new API key shown');
    noteSecret(newKey);
    for (const width of [1280, 800]) {
      await page.setViewportSize({ width, height: 760 });
      const found = await page.evaluate(() => {
        const out = [];
        const lines = (el) => {
          const r = document.createRange();
          r.selectNodeContents(el);
          return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size;
        };
        // the date columns: last used (apps), created and last used (keys)
        const cells = [...document.querySelectorAll('#apps tr.app td:nth-child(3)'),
          ...document.querySelectorAll('#keys tr.key td:nth-child(3), #keys tr.key td:nth-child(4)')];
        if (cells.length < 3) out.push(`only ${cells.length} date cells`);
        for (const c of cells)
          if (lines(c) !== 1) out.push(`"${c.innerText}" takes ${lines(c)} lines`);
        // every table within the page's content box (not into its padding)
        const main = document.querySelector('main');
        const right = main.getBoundingClientRect().right -
          parseFloat(getComputedStyle(main).paddingRight);
        for (const t of document.querySelectorAll('table'))
          if (t.getBoundingClientRect().right > right + 1)
            out.push(`table #${t.id} is wider than the page`);
        return out;
      });
      for (const f of found) problems.push(`${width} px: ${f}`);
      await screenshot(page, `account-${width}`);
    }
    await page.setViewportSize({ width: 900, height: 760 });
    return problems;
  });

  await runCase('chromium: disconnect on the account page -> gone, its token gets 401', async () => {
    await Promise.all([
      page.waitForURL((u) => new URL(u).pathname.endsWith('/account')),
      page.click(`#apps button[data-id="${rw.client.client_id}"]`)
    ]);
    await page.waitForLoadState();
    const text = await page.locator('body').innerText();
    const problems = [];
    if (text.includes(appName)) problems.push('still listed after disconnecting');
    if (!text.includes(roName)) problems.push('the other application disappeared too');
    await screenshot(page, 'account-after-disconnect');
    const m = await mcpStatus(rw.token);
    if (m.status !== 401 || !m.wwwAuth.includes('invalid_token'))
      problems.push(`the disconnected token: ${m.status} ${m.wwwAuth}`);
    const other = await mcpStatus(ro.token);
    if (other.status !== 200) problems.push(`the other application's token: ${other.status}`);
    return problems;
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`browser.mjs: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  }
);

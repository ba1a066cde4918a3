// admin.mjs - the admin console in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core), against one front end.
//
// Usage: node admin.mjs BASE_URL ADMIN PASSWORD PLAIN PLAIN_PASSWORD TARGET ARTIFACT_DIR PREFIX
// Prints one JSON line per case ({"ok", "desc", "diag"}); admin.py turns them into TAP.
// Screenshots of every page go to ARTIFACT_DIR/PREFIX-NN-name.png.
//
// Cases: signed out, /admin leads to the sign-in page; a signed-in user without the admin
// role gets 403 on every console page and on a change; the admin sees the overview with
// its SVG charts (24 hourly bars, the top tools with echo, p50/p99 of the builtin
// backend); a change without the Confirm box or with a wrong CSRF token is refused and
// changes nothing; with it, TARGET is disabled and enabled again, added to a group and
// removed, each shown on the users page; a user's connected app disconnected, an API key
// and an OAuth client revoked and a
// policy rule added and removed, each from its page; the backends page shows the builtin
// tools with their calls, failures, p50/p99 and last failure; the audit trail lists those actions
// under the admin's name, filters by tool and outcome, and explains a bad time.
import { mkdirSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { runCase, withTimeout, SLOW } from './lib.mjs';

const [base, admin, adminPw, plain, plainPw, target, artifactDir, prefix] =
  process.argv.slice(2);
const CHROMIUM = process.env.MCPGATE_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const STEP_MS = 15000 * SLOW;
let shot = 0;

async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({
    path: join(artifactDir, `${prefix}-${String(shot).padStart(2, '0')}-${name}.png`),
    fullPage: true
  });
}

async function signIn(page, user, password, returnTo) {
  await page.goto(`${base}/login?return_to=${encodeURIComponent(new URL(base).pathname.replace(/\/$/, '') + returnTo)}`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForLoadState('load'), page.click('#signin')]);
}

async function newContext(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(STEP_MS);
  return { ctx, page };
}

// Posts the first form of the page that has a csrf field, rewritten: its action set, each
// field set (a null value removes the field) and no field required, the way a hand-made
// or tampered request would arrive; the page's CSP forbids a script's fetch, a form is what
// a browser sends. Returns the response's HTTP status.
async function postFrom(page, action, fields) {
  await page.evaluate(([act, kv]) => {
    const f = document.querySelector('form input[name=csrf]').form;
    f.action = act;
    for (const [k, v] of Object.entries(kv)) {
      let i = f.querySelector(`input[name="${k}"]`);
      if (v === null) {
        if (i) i.remove();
        continue;
      }
      if (!i) {
        i = document.createElement('input');
        i.type = 'hidden';
        i.name = k;
        f.appendChild(i);
      }
      i.value = v;
    }
    f.querySelectorAll('[required]').forEach((e) => e.removeAttribute('required'));
  }, [action, fields]);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.locator('form:has(input[name=csrf]) button').first().click()
  ]);
  await page.waitForLoadState('load');
  return resp.status();
}

async function csrfOf(page) {
  return page.locator('input[name=csrf]').first().getAttribute('value');
}

async function userRow(page, name) {
  const rows = page.locator('#users tr.user');
  for (let i = 0; i < (await rows.count()); i++) {
    const row = rows.nth(i);
    if ((await row.locator('td.name').innerText()) === name) return row;
  }
  return null;
}

async function run(browser) {
  const anon = await newContext(browser);
  await runCase('chromium: /admin signed out leads to the sign-in page', async () => {
    await anon.page.goto(`${base}/admin`);
    const p = [];
    if (!new URL(anon.page.url()).pathname.endsWith('/login')) p.push(`at ${anon.page.url()}`);
    return p;
  });
  await anon.ctx.close();

  const other = await newContext(browser);
  await runCase('chromium: a user without the admin role gets 403 on every console page', async () => {
    await signIn(other.page, plain, plainPw, '/account');
    const p = [];
    for (const path of ['/admin', '/admin/users', '/admin/audit']) {
      const r = await other.page.goto(`${base}${path}`);
      if (r.status() !== 403) p.push(`${path}: ${r.status()}`);
    }
    const text = await other.page.locator('#error').innerText();
    if (!text.includes('admin role')) p.push(`message ${text}`);
    await screenshot(other.page, 'non-admin-403');
    await other.page.goto(`${base}/account`);
    const status = await postFrom(other.page, `${base}/admin/users/state`,
      { user: target, action: 'disable', confirm: 'yes' });
    if (status !== 403) p.push(`a change by a non-admin: ${status}`);
    return p;
  });
  await other.ctx.close();

  const { ctx, page } = await newContext(browser);
  await runCase('chromium: the admin sees the overview with its SVG charts', async () => {
    await signIn(page, admin, adminPw, '/admin');
    const p = [];
    if (!new URL(page.url()).pathname.endsWith('/admin')) p.push(`at ${page.url()}`);
    const hours = await page.locator('#chart-hours g.hour').count();
    if (hours !== 24) p.push(`${hours} hourly bars`);
    const calls = await page.locator('#chart-hours rect.calls').evaluateAll(
      (rs) => rs.reduce((n, r) => n + Number(r.getAttribute('height')), 0));
    if (!(calls > 0)) p.push('no hourly bar has a height');
    const tools = await page.locator('#chart-tools').innerHTML();
    if (!tools.includes('echo')) p.push('echo is not among the top tools');
    const lat = await page.locator('#chart-latency').innerHTML();
    if (!lat.includes('mcpgate') || !lat.includes('p99')) p.push('no p50/p99 of the builtin backend');
    await screenshot(page, 'overview');
    return p;
  });

  await runCase('chromium: a change without Confirm, or with a wrong CSRF token, is refused', async () => {
    const p = [];
    await page.goto(`${base}/admin/users`);
    let status = await postFrom(page, `${base}/admin/users/state`,
      { user: target, action: 'disable', confirm: null });
    if (status !== 400) p.push(`without confirm: ${status}`);
    await page.goto(`${base}/admin/users`);
    const csrf = await csrfOf(page);
    status = await postFrom(page, `${base}/admin/users/state`,
      { csrf: 'x' + csrf, user: target, action: 'disable', confirm: 'yes' });
    if (status !== 403) p.push(`wrong csrf: ${status}`);
    await page.goto(`${base}/admin/users`);
    const row = await userRow(page, target);
    if (!row) p.push(`${target} not listed`);
    else if (!(await row.locator('td.status').innerText()).startsWith('enabled'))
      p.push('the user was changed');
    return p;
  });

  await runCase('chromium: disable and enable a user, confirmed', async () => {
    const p = [];
    for (const [want, label] of [['disabled', 'Disable'], ['enabled', 'Enable']]) {
      await page.goto(`${base}/admin/users`);
      const row = await userRow(page, target);
      const form = row.locator('form[action$="/admin/users/state"]');
      if ((await form.locator('button').innerText()) !== 'Apply' ||
          !(await form.innerText()).includes(label)) p.push(`no ${label} form`);
      await form.locator('input[name=confirm]').check();
      await Promise.all([page.waitForLoadState('load'), form.locator('button').click()]);
      const notice = await page.locator('#notice').innerText();
      if (notice !== `user ${target} ${want}`) p.push(`notice ${notice}`);
      const after = await userRow(page, target);
      const state = await after.locator('td.status').innerText();
      if (!state.startsWith(want)) p.push(`state ${state}, want ${want}`);
      if (want === 'disabled') await screenshot(page, 'user-disabled');
    }
    return p;
  });

  await runCase('chromium: add a user to a group and remove them, confirmed', async () => {
    const p = [];
    const group = `ops-${prefix}`;
    for (const op of ['add', 'remove']) {
      await page.goto(`${base}/admin/users`);
      const row = await userRow(page, target);
      const form = row.locator('form[action$="/admin/users/groups"]');
      await form.locator('select[name=op]').selectOption(op);
      await form.locator('input[name=group]').fill(group);
      await form.locator('input[name=confirm]').check();
      await Promise.all([page.waitForLoadState('load'), form.locator('button').click()]);
      const groups = await (await userRow(page, target)).locator('td.groups').innerText();
      if (op === 'add' && !groups.split(',').includes(group)) p.push(`groups ${groups} after add`);
      if (op === 'remove' && groups.split(',').includes(group)) p.push(`groups ${groups} after remove`);
      if (op === 'add') await screenshot(page, 'user-group');
    }
    return p;
  });

  // A row of a table page (by the text of one of its cells) and its confirmed button.
  async function confirmRow(path, tableId, text) {
    await page.goto(`${base}${path}`);
    const rows = page.locator(`#${tableId} tr.row`);
    for (let i = 0; i < (await rows.count()); i++) {
      const row = rows.nth(i);
      if ((await row.locator('td').allInnerTexts()).includes(text)) {
        await row.locator('input[name=confirm]').check();
        await Promise.all([page.waitForLoadState('load'), row.locator('button').click()]);
        return true;
      }
    }
    return false;
  }

  async function cellsOf(tableId) {
    return (await page.locator(`#${tableId} td`).allInnerTexts()).join('|');
  }

  await runCase('chromium: an API key listed and revoked, confirmed', async () => {
    const p = [];
    const name = `console-key-${prefix}`;
    if (!(await confirmRow('/admin/keys', 'keys', name))) p.push(`${name} not listed`);
    const notice = await page.locator('#notice').innerText();
    if (!/^API key \d+ revoked$/.test(notice)) p.push(`notice ${notice}`);
    if ((await cellsOf('keys')).includes(name)) p.push('still listed');
    await screenshot(page, 'keys');
    return p;
  });

  await runCase('chromium: an OAuth client listed and revoked, confirmed', async () => {
    const p = [];
    const name = `console-client-${prefix}`;
    if (!(await confirmRow('/admin/clients', 'clients', name))) p.push(`${name} not listed`);
    const notice = await page.locator('#notice').innerText();
    if (!notice.endsWith('revoked')) p.push(`notice ${notice}`);
    if ((await cellsOf('clients')).includes(name)) p.push('still listed');
    await screenshot(page, 'clients');
    return p;
  });

  await runCase("chromium: a user's connected app disconnected, confirmed", async () => {
    const p = [];
    const appsOf = async () => (await page.locator('#apps td.c0').allInnerTexts())
      .filter((u) => u === target).length;
    await page.goto(`${base}/admin/apps`);
    const before = await appsOf();
    if (!(await confirmRow('/admin/apps', 'apps', target))) p.push(`no app of ${target} listed`);
    const notice = await page.locator('#notice').innerText();
    if (!/^client .* disconnected from user \d+ \(\d+\)$/.test(notice)) p.push(`notice ${notice}`);
    const after = await appsOf();
    if (after !== before - 1) p.push(`apps of ${target}: ${before} before, ${after} after`);
    await screenshot(page, 'apps');
    return p;
  });

  await runCase('chromium: a policy rule added and removed, confirmed', async () => {
    const p = [];
    const pattern = `danger_${prefix.replace(/[^a-z]/g, '')}_*`;
    await page.goto(`${base}/admin/policy`);
    await page.selectOption('#policy-effect', 'deny');
    await page.selectOption('#policy-kind', 'user');
    await page.fill('#policy-name', target);
    await page.fill('#policy-pattern', pattern);
    await page.check('#policy-confirm');
    await Promise.all([page.waitForLoadState('load'), page.click('#policy-submit')]);
    const notice = await page.locator('#notice').innerText();
    if (!notice.includes(`deny user ${target} ${pattern}`)) p.push(`notice ${notice}`);
    const cells = await cellsOf('rules');
    if (!cells.includes(pattern) || !cells.includes('deny')) p.push(`rules ${cells}`);
    await screenshot(page, 'policy');
    if (!(await confirmRow('/admin/policy', 'rules', pattern))) p.push('no row to remove');
    if ((await cellsOf('rules').catch(() => '')).includes(pattern)) p.push('still listed');
    return p;
  });

  await runCase('chromium: backends with their tools and health', async () => {
    const p = [];
    await page.goto(`${base}/admin/backends`);
    const rows = page.locator('#backends tr.row');
    let found = null;
    for (let i = 0; i < (await rows.count()); i++) {
      const cells = await rows.nth(i).locator('td').allInnerTexts();
      if (cells[0] === 'mcpgate') found = cells;
    }
    if (!found) return ['no row for the builtin tools'];
    const [, kind, tools, ok, failed, p50, p99, last] = found;
    if (kind !== 'builtin') p.push(`kind ${kind}`);
    if (!tools.split(/[:,] /).includes('echo')) p.push(`tools ${tools}`);
    if (!(Number(ok) >= 5) || !(Number(failed) >= 1)) p.push(`calls ok ${ok}, failed ${failed}`);
    if (!(Number(p99) >= Number(p50) && Number(p50) > 0)) p.push(`p50 ${p50}, p99 ${p99}`);
    if (!last.endsWith(' echo')) p.push(`last failure ${last}`);
    await screenshot(page, 'backends');
    return p;
  });

  await runCase('chromium: the audit trail lists the admin actions and filters', async () => {
    const p = [];
    await page.goto(`${base}/admin/audit`);
    await page.fill('#filter-tool', 'admin/user_disable');
    await Promise.all([page.waitForLoadState('load'), page.click('#filter')]);
    const tools = await page.locator('#audit td.tool').allInnerTexts();
    if (tools.length < 1 || tools.some((t) => t !== 'admin/user_disable')) p.push(`tools ${tools}`);
    const who = await page.locator('#audit tr.row td:nth-child(2)').first().innerText();
    if (!who.startsWith(admin)) p.push(`by ${who}`);
    await screenshot(page, 'audit-admin');
    await page.goto(`${base}/admin/audit?outcome=error`);
    const outcomes = await page.locator('#audit td.outcome').allInnerTexts();
    if (outcomes.length < 1 || outcomes.some((o) => o !== 'error')) p.push(`outcomes ${outcomes}`);
    const r = await page.goto(`${base}/admin/audit?since=not-a-time`);
    if (r.status() !== 400 || !(await page.locator('#error').innerText()).includes('Since'))
      p.push(`bad since: ${r.status()}`);
    return p;
  });
  await ctx.close();
}

async function main() {
  mkdirSync(artifactDir, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'mcpgate-chromium-'));
  let browser;
  try {
    browser = await withTimeout(
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30000 }),
      40000, 'launch chromium');
    await run(browser);
  } finally {
    if (browser) await browser.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ ok: false, desc: 'admin.mjs', diag: [String(e)] }) + '\n');
  process.exit(1);
});

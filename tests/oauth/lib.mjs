// lib.mjs - what the OAuth test scripts share: result lines for run.py, time limits,
// PKCE, a cookie jar over fetch, headless Chromium and a client's redirect URI to land on, and the sign-in and consent pages driven over HTTP
// (the way a browser would fill them in, without one).
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

// One result line: {"ok": bool, "desc": "...", "diag": ["..."]}; run.py makes it TAP.
export function report(ok, desc, diag = []) {
  process.stdout.write(JSON.stringify({ ok: !!ok, desc, diag: diag.map(String) }) + '\n');
}

// Tells run.py about a secret (token, code) it must not find in any log.
export function noteSecret(value) {
  if (value) process.stdout.write(JSON.stringify({ secret: String(value) }) + '\n');
}

// Under valgrind (MCPGATE_VALGRIND=1, make check-valgrind) mcpgate answers several
// times slower: every wait of these scripts is a bound on how long an answer may take,
// so all of them scale by this factor (mcptest.SLOW on the Python side).
export const SLOW = process.env.MCPGATE_VALGRIND === '1' ? 4 : 1;

// Rejects when promise has not settled in ms (times SLOW).
export function withTimeout(promise, ms, what) {
  ms *= SLOW;
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    })
  ]);
}

function errText(e) {
  return e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : String(e);
}

// Runs one case: fn returns a list of problems (empty: passed); an exception fails it.
// Returns true when it passed.
export async function runCase(desc, fn, ms = 30000) {
  try {
    const problems = (await withTimeout(Promise.resolve().then(fn), ms, desc)) || [];
    report(problems.length === 0, desc, problems);
    return problems.length === 0;
  } catch (e) {
    report(false, desc, [errText(e)]);
    return false;
  }
}

export function pkce() {
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function form(fields) {
  return new URLSearchParams(fields).toString();
}

export const FORM_HEADERS = { 'Content-Type': 'application/x-www-form-urlencoded' };

// The hidden inputs of a page (name -> value), as a browser would submit them.
export function hiddenFields(html) {
  const out = {};
  for (const m of html.matchAll(/<input\b[^>]*>/g)) {
    const tag = m[0];
    const attr = (name) => {
      const a = tag.match(new RegExp(`\\b${name}="([^"]*)"`));
      return a ? decodeEntities(a[1]) : undefined;
    };
    if (attr('type') === 'hidden' && attr('name')) out[attr('name')] = attr('value') ?? '';
  }
  return out;
}

function decodeEntities(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x27;/g, "'")
    .replace(/&amp;/g, '&');
}

// The action of the first POST form of a page, absolute.
export function formAction(html, origin, fallback) {
  const m = html.match(/<form method="post"[^>]* action="([^"]*)"/);
  return new URL(m ? decodeEntities(m[1]) : fallback, origin).toString();
}

// A cookie jar over fetch that follows no redirect by itself (the tests look at each
// 303). Cookies are kept by name only: one site, one path in these tests.
export class Browser {
  constructor() {
    this.cookies = new Map();
    this.setCookieLines = [];
  }

  async fetch(url, init = {}) {
    const headers = { ...(init.headers || {}) };
    if (this.cookies.size)
      headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of r.headers.getSetCookie()) {
      this.setCookieLines.push(line);
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!value || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return r;
  }

  get(url) {
    return this.fetch(url);
  }

  post(url, fields) {
    return this.fetch(url, { method: 'POST', headers: FORM_HEADERS, body: form(fields) });
  }
}

// Drives GET authorizeUrl -> sign-in page -> consent page -> the client's redirect, over
// HTTP with browser's cookies. opts: user, password, readOnly, decision ("allow").
// Returns { location, query (URLSearchParams of the redirect), steps (what happened),
// problems }.
export async function authorizeThroughPages(browser, authorizeUrl, opts) {
  const steps = [];
  const problems = [];
  const origin = new URL(authorizeUrl).origin;
  const abs = (loc) => new URL(loc, origin).toString();
  let r = await browser.get(authorizeUrl);
  steps.push(`GET /authorize: ${r.status}`);
  let loc = r.headers.get('location');
  if (r.status === 303 && loc && new URL(abs(loc)).pathname.endsWith('/login')) {
    const login = await browser.get(abs(loc));
    const html = await login.text();
    steps.push(`GET /login: ${login.status}`);
    const fields = hiddenFields(html);
    if (!fields.csrf) problems.push('the sign-in page has no csrf field');
    fields.username = opts.user;
    fields.password = opts.password;
    r = await browser.post(formAction(html, origin, '/login'), fields);
    steps.push(`POST /login: ${r.status}`);
    if (r.status !== 303) {
      problems.push(`sign-in answered ${r.status}, expected 303`);
      return { steps, problems };
    }
    r = await browser.get(abs(r.headers.get('location')));
    steps.push(`GET (after sign-in): ${r.status}`);
    loc = r.headers.get('location');
  }
  if (r.status === 200) {
    const html = await r.text();
    if (!html.includes('Allow access')) {
      problems.push('expected the consent page');
      return { steps, problems };
    }
    const fields = hiddenFields(html);
    fields.decision = opts.decision || 'allow';
    if (opts.readOnly) fields.read_only = '1';
    r = await browser.post(formAction(html, origin, '/consent'), fields);
    steps.push(`POST /consent: ${r.status}`);
    loc = r.headers.get('location');
  }
  if (r.status !== 303 || !loc) {
    problems.push(`expected a 303 to the client's redirect URI, got ${r.status}`);
    return { steps, problems };
  }
  const url = new URL(loc);
  return { location: loc, query: url.searchParams, steps, problems };
}

// A client's redirect URI: a local server that answers every request with a short page.
function startCallbackServer() {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>callback</title><h1>Client callback</h1>');
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const CHROMIUM = process.env.MCPGATE_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
];

// Headless Chromium (Debian's, $MCPGATE_CHROMIUM) with its profile in the directory profile.
function launchChromium(profile) {
  return withTimeout(
    chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 900, height: 760 },
      timeout: 30000
    }),
    40000,
    'launch chromium'
  );
}

// POST initialize to mcpUrl with the bearer token; returns the HTTP status and
// WWW-Authenticate.
export async function mcpStatus(mcpUrl, token) {
  const r = await fetch(mcpUrl, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      Authorization: `Bearer ${token}`
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'b', version: '1' } }
    })
  });
  await r.text();
  return { status: r.status, wwwAuth: r.headers.get('www-authenticate') || '' };
}

// What the SDK's OAuthClientProvider keeps, in memory: the registered client, the tokens
// (each noted as a secret), the PKCE verifier and the state. A subclass adds
// redirectUrl, clientMetadata and redirectToAuthorization(url).
export class MemoryProvider {
  constructor() {
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._state = undefined;
    this.saved = []; // every saveTokens() argument
  }

  state() {
    this._state = 'st-' + Math.random().toString(36).slice(2);
    return this._state;
  }

  clientInformation() {
    return this._client;
  }

  saveClientInformation(info) {
    this._client = info;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    noteSecret(tokens.access_token);
    noteSecret(tokens.refresh_token);
    this._tokens = tokens;
    this.saved.push(tokens);
  }

  saveCodeVerifier(v) {
    this._verifier = v;
  }

  codeVerifier() {
    return this._verifier;
  }
}

// The registration metadata of a public client (PKCE, no secret) with one redirect URI.
export function publicClientMetadata(name, redirect) {
  return {
    client_name: name,
    redirect_uris: [redirect],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none'
  };
}

// The SDK client connected to mcpUrl with provider's tokens. Returns { client, transport }.
export async function sdkConnect(mcpUrl, provider, name) {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  await withTimeout(client.connect(transport), 15000, 'connect');
  return { client, transport };
}

// Connect without a token: the SDK's auth flow runs up to the redirect (and provider's
// redirectToAuthorization() through the pages, leaving provider.code and
// provider.pageProblems); connect() then fails with UnauthorizedError, and
// finishAuth(code) exchanges the code. Problems go to problems; returns connect()'s error.
export async function sdkAuthorize(mcpUrl, provider, name, problems, ms = 20000) {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  let err;
  try {
    await withTimeout(client.connect(transport), ms, 'first connect');
    problems.push('connect() without a token succeeded');
  } catch (e) {
    err = e;
  }
  if (!(err instanceof UnauthorizedError))
    problems.push(`connect() failed with ${err}, expected UnauthorizedError`);
  problems.push(...provider.pageProblems);
  if (provider.code) await transport.finishAuth(provider.code);
  await transport.close().catch(() => {});
  return err;
}

// Makes artifactDir, starts a client's redirect URI and Chromium with a fresh profile, runs
// fn(browser context, redirect URI), then stops both and removes the profile.
export async function withChromium(artifactDir, fn) {
  mkdirSync(artifactDir, { recursive: true });
  const cb = await startCallbackServer();
  const redirect = `http://127.0.0.1:${cb.address().port}/callback`;
  const profile = mkdtempSync(join(tmpdir(), 'mcpgate-chromium-'));
  let browser;
  try {
    browser = await launchChromium(profile);
    await fn(browser, redirect);
  } finally {
    if (browser) await browser.close().catch(() => {});
    cb.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

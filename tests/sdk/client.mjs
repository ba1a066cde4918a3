// client.mjs - drives mcpgate with the MCP TypeScript SDK (@modelcontextprotocol/sdk,
// pinned in package.json / package-lock.json) as a real client would.
//
// Usage: node client.mjs BASE_URL PAGE_SIZE
// Prints one JSON object per line: {"ok": bool, "desc": "...", "diag": ["..."]};
// tests/sdk/run.py turns them into TAP. Exits 0 once every case ran.
//
// Cases: Streamable HTTP initialize; tools/list paged through with nextCursor (the
// server runs with page_size = PAGE_SIZE); a tool that streams progress; a stream the
// client loses mid-call, resumed by the SDK with Last-Event-ID (every progress event
// exactly once, then the result); the server closing the stream mid-call
// (test_reconnection, SEP-1699); resources, prompts and completions through the SDK;
// a resource subscription notified over the GET stream; the 2024-11-05 HTTP+SSE
// transport (SSEClientTransport on /sse), and the SDK's fallback to it after a 4xx.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  CallToolResultSchema,
  ResourceUpdatedNotificationSchema
} from '@modelcontextprotocol/sdk/types.js';

const [base, pageSizeArg] = process.argv.slice(2);
const pageSize = Number(pageSizeArg);
const mcpUrl = new URL(base + '/mcp');

function report(ok, desc, diag = []) {
  process.stdout.write(JSON.stringify({ ok: !!ok, desc, diag: diag.map(String) }) + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    })
  ]);
}

async function connect(name, opts = {}) {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(mcpUrl, opts);
  await withTimeout(client.connect(transport), 10000, 'connect');
  return { client, transport };
}

// Runs one case; an exception is a failed case with the error as diagnostic.
async function runCase(desc, fn) {
  try {
    const problems = (await withTimeout(fn(), 30000, desc)) || [];
    report(problems.length === 0, desc, problems);
  } catch (e) {
    report(false, desc, [e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : e]);
  }
}

async function caseInitialize() {
  const { client, transport } = await connect('sdk-initialize');
  const p = [];
  const info = client.getServerVersion();
  const caps = client.getServerCapabilities() || {};
  if (!info || info.name !== 'mcpgate') p.push(`serverInfo ${JSON.stringify(info)}`);
  if (!transport.sessionId) p.push('no Mcp-Session-Id');
  if (!caps.tools || !caps.resources?.subscribe || !caps.prompts || !caps.completions)
    p.push(`capabilities ${JSON.stringify(caps)}`);
  await client.close();
  return p;
}

async function casePaging() {
  const { client } = await connect('sdk-paging');
  const p = [];
  const names = [];
  let cursor;
  let pages = 0;
  do {
    const r = await client.listTools(cursor ? { cursor } : {});
    pages++;
    if (r.tools.length > pageSize) p.push(`page ${pages} has ${r.tools.length} tools`);
    names.push(...r.tools.map((t) => t.name));
    cursor = r.nextCursor;
  } while (cursor && pages < 100);
  const unique = new Set(names);
  if (unique.size !== names.length) p.push(`a tool came twice: ${names.join(',')}`);
  for (const want of ['echo', 'test_tool_with_progress', 'json_schema_2020_12_tool'])
    if (!unique.has(want)) p.push(`${want} missing from ${names.join(',')}`);
  if (pages !== Math.ceil(names.length / pageSize))
    p.push(`${pages} pages for ${names.length} tools of ${pageSize} a page`);
  try {
    await client.listTools({ cursor: 'not-a-cursor' });
    p.push('a made-up cursor was accepted');
  } catch (e) {
    if (e.code !== -32602) p.push(`made-up cursor: ${e.code} ${e.message}`);
  }
  await client.close();
  return p;
}

async function caseProgress() {
  const { client } = await connect('sdk-progress');
  const seen = [];
  const r = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
    onprogress: (ev) => seen.push(ev.progress)
  });
  const p = [];
  if (seen.length < 3) p.push(`${seen.length} progress notifications: ${seen}`);
  for (let i = 1; i < seen.length; i++)
    if (seen[i] < seen[i - 1]) p.push(`progress went back: ${seen}`);
  if (r.isError) p.push(`tool error ${JSON.stringify(r)}`);
  await client.close();
  return p;
}

// A fetch that cuts the first POST response stream of a tools/call after `after`
// complete SSE events, as a dropped connection would: the SDK must resume it with GET
// and Last-Event-ID. Records every request.
function droppingFetch(after, log) {
  let dropped = false;
  return async (url, init = {}) => {
    const headers = new Headers(init.headers);
    const body = typeof init.body === 'string' ? init.body : '';
    log.push(`${init.method || 'GET'} last-event-id=${headers.get('last-event-id') || '-'}`);
    const res = await fetch(url, init);
    const isCall = body.includes('"tools/call"');
    const sse = (res.headers.get('content-type') || '').includes('text/event-stream');
    if (dropped || !isCall || !sse || !res.body) return res;
    dropped = true;
    const reader = res.body.getReader();
    let events = 0;
    let text = '';
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    const cut = new ReadableStream({
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        text += dec.decode(value, { stream: true });
        let idx;
        let out = '';
        while ((idx = text.indexOf('\n\n')) >= 0) {
          out += text.slice(0, idx + 2);
          text = text.slice(idx + 2);
          if (++events >= after) {
            controller.enqueue(enc.encode(out));
            log.push(`dropped after ${events} events`);
            reader.cancel().catch(() => {});
            controller.error(new TypeError('connection lost (test)'));
            return;
          }
        }
        if (out) controller.enqueue(enc.encode(out));
      }
    });
    return new Response(cut, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

async function caseResume() {
  const log = [];
  const steps = 6;
  const { client } = await connect('sdk-resume', {
    fetch: droppingFetch(3, log),
    reconnectionOptions: {
      initialReconnectionDelay: 100,
      maxReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 1.5,
      maxRetries: 5
    }
  });
  const seen = [];
  const r = await client.request(
    { method: 'tools/call', params: { name: 'test_progress_slow', arguments: { steps, ms: 200 } } },
    CallToolResultSchema,
    { onprogress: (ev) => seen.push(ev.progress), timeout: 25000 }
  );
  const p = [];
  const want = Array.from({ length: steps }, (_, i) => i + 1);
  if (JSON.stringify(seen) !== JSON.stringify(want))
    p.push(`progress ${JSON.stringify(seen)}, expected each of ${JSON.stringify(want)} once`);
  const text = r.content?.[0]?.text;
  if (text !== `done after ${steps} steps`) p.push(`result ${JSON.stringify(r)}`);
  if (!log.some((l) => l.startsWith('dropped'))) p.push('the stream was never cut');
  if (!log.some((l) => l.startsWith('GET last-event-id=') && !l.endsWith('=-')))
    p.push('no GET with Last-Event-ID');
  if (p.length) p.push(`requests: ${log.join('; ')}`);
  await client.close();
  return p;
}

async function caseServerClose() {
  const { client } = await connect('sdk-reconnection', {
    reconnectionOptions: {
      initialReconnectionDelay: 100,
      maxReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 1.5,
      maxRetries: 5
    }
  });
  const r = await client.callTool({ name: 'test_reconnection', arguments: {} });
  const p = [];
  if (!String(r.content?.[0]?.text).includes('Reconnection test completed'))
    p.push(`result ${JSON.stringify(r)}`);
  await client.close();
  return p;
}

async function caseCatalog() {
  const { client } = await connect('sdk-catalog');
  const p = [];
  const res = [];
  let cursor;
  do {
    const r = await client.listResources(cursor ? { cursor } : {});
    res.push(...r.resources.map((x) => x.uri));
    cursor = r.nextCursor;
  } while (cursor);
  if (!res.includes('test://static-text') || !res.includes('test://watched-resource'))
    p.push(`resources ${res}`);
  const read = await client.readResource({ uri: 'test://template/99/data' });
  if (!read.contents?.[0]?.text?.includes('99')) p.push(`read ${JSON.stringify(read)}`);
  try {
    await client.readResource({ uri: 'test://missing' });
    p.push('an unknown resource was read');
  } catch (e) {
    if (e.code !== -32002) p.push(`unknown resource: ${e.code} ${e.message}`);
  }
  const pr = await client.getPrompt({
    name: 'test_prompt_with_arguments',
    arguments: { arg1: 'one', arg2: 'two' }
  });
  if (!JSON.stringify(pr.messages).includes("arg1='one'")) p.push(`prompt ${JSON.stringify(pr)}`);
  const c = await client.complete({
    ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
    argument: { name: 'arg1', value: 'test' }
  });
  if (!c.completion.values.includes('testValue1')) p.push(`completion ${JSON.stringify(c)}`);
  await client.close();
  return p;
}

async function caseSubscription() {
  const uri = 'test://watched-resource';
  const { client } = await connect('sdk-subscriber');
  const updates = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push(n.params));
  await client.subscribeResource({ uri });
  await sleep(500); // the SDK opens its GET stream after initialize
  const other = await connect('sdk-updater');
  await other.client.callTool({ name: 'test_update_resource', arguments: { uri } });
  for (let i = 0; i < 50 && updates.length === 0; i++) await sleep(100);
  const p = [];
  if (updates.length !== 1 || updates[0].uri !== uri)
    p.push(`updates ${JSON.stringify(updates)}`);
  await client.unsubscribeResource({ uri });
  await other.client.close();
  await client.close();
  return p;
}

async function caseLegacySse() {
  const client = new Client({ name: 'sdk-legacy', version: '1.0.0' }, { capabilities: {} });
  const transport = new SSEClientTransport(new URL(base + '/sse'));
  await withTimeout(client.connect(transport), 10000, 'connect over /sse');
  const p = [];
  const tools = await client.listTools();
  if (!tools.tools.some((t) => t.name === 'echo')) p.push(`tools ${JSON.stringify(tools)}`);
  const r = await client.callTool({ name: 'echo', arguments: { message: 'over sse' } });
  if (r.content?.[0]?.text !== 'over sse') p.push(`echo ${JSON.stringify(r)}`);
  // Progress is counted as it arrives on the transport: the SDK's onprogress can
  // miss the last one when it comes in the same read as the response (it handles
  // notifications a microtask later than responses).
  const seen = [];
  const deliver = transport.onmessage;
  transport.onmessage = (m) => {
    if (m.method === 'notifications/progress') seen.push(m.params.progress);
    deliver(m);
  };
  await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
    onprogress: () => {}
  });
  if (seen.length !== 3 || seen[0] > seen[1] || seen[1] > seen[2])
    p.push(`progress over /sse: ${JSON.stringify(seen)}`);
  await client.close();
  return p;
}

// The SDK's documented backwards-compatible client: try Streamable HTTP at the
// URL the user gave; on a 4xx, connect with the 2024-11-05 transport to the
// same URL. Given the /sse URL, mcpgate answers the POSTed initialize with 405
// and the GET with the endpoint event.
async function caseFallback() {
  const url = new URL(base + '/sse');
  const p = [];
  let firstError = null;
  let client = new Client({ name: 'sdk-fallback', version: '1.0.0' }, { capabilities: {} });
  try {
    await withTimeout(client.connect(new StreamableHTTPClientTransport(url)), 10000,
                      'Streamable HTTP attempt');
    p.push('the Streamable HTTP attempt on /sse unexpectedly succeeded');
  } catch (e) {
    firstError = e;
    client = new Client({ name: 'sdk-fallback', version: '1.0.0' }, { capabilities: {} });
    await withTimeout(client.connect(new SSEClientTransport(url)), 10000, 'fallback over /sse');
  }
  if (firstError && firstError.code !== 405)
    p.push(`the first attempt failed without the 405: ${firstError} (code ${firstError.code})`);
  const r = await client.callTool({ name: 'echo', arguments: { message: 'fell back' } });
  if (r.content?.[0]?.text !== 'fell back') p.push(`echo ${JSON.stringify(r)}`);
  await client.close();
  return p;
}

await runCase('Streamable HTTP: initialize, session and capabilities', caseInitialize);
await runCase(`tools/list paged through with nextCursor (page_size ${pageSize})`, casePaging);
await runCase('a tool call streams progress notifications', caseProgress);
await runCase('a stream lost mid-call resumes with Last-Event-ID: no event lost or repeated', caseResume);
await runCase('the server closes the stream mid-call (test_reconnection): the SDK reconnects', caseServerClose);
await runCase('resources, templates, prompts and completions', caseCatalog);
await runCase('resources/subscribe: the update arrives on the GET stream', caseSubscription);
await runCase('2024-11-05 HTTP+SSE transport (/sse): tools/list, tools/call, progress', caseLegacySse);
await runCase('the SDK falls back to HTTP+SSE when initialize POSTed to /sse gets 405', caseFallback);
process.exit(0);

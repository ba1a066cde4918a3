// resource_server.mjs - an external authorization server (oidc-provider) for
// tests/integration/test_resource_server.py: mcpgate is only its resource server.
//
// node resource_server.mjs CONFIG_JSON, where CONFIG_JSON is
//   {"port": N, "kid": "k1", "clients": [oidc-provider client metadata, ...], "opaque": false}
// Client credentials grants with resource indicators (RFC 8707): any http://127.0.0.1
// resource ending in /mcp or /mcp/NAME gets scopes mcp.read and mcp.write, an access token
// of 10 minutes that is a JWT (RFC 9068, RS256, signed by key KID) unless the client's id
// ends in "-opaque" (or "opaque" is true: every client's tokens are opaque, dynamically
// registered ones included), and the client's "groups" (client metadata) as a claim. Introspection
// (RFC 7662) for confidential clients. Dynamic registration (RFC 7591) and the
// authorization code flow with PKCE for one person, alice (subject a-1001, group staff):
// the devInteractions login form takes the subject as the login, the provider's own consent
// is skipped (a grant for the requested scopes and resource is made on the spot), and her
// access tokens carry preferred_username, email and groups. Prints "listening PORT" when
// ready.
//
// GET /__test/forge?mode=M&token=T answers a token forged from the JWT T: none (alg none, no
// signature), hs256 (HMAC with the provider's public key as the secret: key confusion),
// tampered (another sub, the original signature), expired (signed, exp an hour ago), iss
// (signed, another issuer), typ (signed, header typ logout+jwt: another kind of token), kid
// (signed by a key never published, a fresh kid each time).
// GET /__test/jwks counts the key set fetches answered, GET /__test/introspections the
// introspection requests.
//
// Token exchange (RFC 8693) as a grant of its own (registerGrantType), for clients whose
// grant_types list it: the subject_token must be an access token (subject_token_type
// ...:access_token) this provider signed as a JWT for an http://127.0.0.1 resource ending in
// /mcp or /mcp/NAME; the audience (or resource) asked for must be one of CONFIG_JSON's
// "exchange_audiences", else invalid_target. The answer is a new JWT access token (typ at+jwt,
// a fresh jti) for the same sub, with aud the audience, act.sub the exchanging client, scope as
// asked, expires_in "exchange_ttl" (default 600). GET /__test/exchanges counts the exchanges
// answered.
//
// With "backend": {"port": P, "audience": A} in CONFIG_JSON, a REST backend listens on P too: it
// accepts only a bearer JWT signed by this provider (checked against its JWKS at /jwks, as any
// resource server would) whose aud is A and whose jti it has not revoked, and answers
// {"sub", "aud", "act", "path"}; anything else gets 401. GET /__test/seen there lists the
// SHA-256 (hex) of every bearer token it received, /__test/refused counts its 401s to revoked
// tokens, and POST /__test/revoke revokes every token it has accepted so far.
//
// With "upstream": {"port": P, "audiences": [A, ...]} in CONFIG_JSON, an upstream MCP server
// (Streamable HTTP, JSON answers) listens on P at /mcp: every POST must carry a bearer JWT of
// this provider (its JWKS) whose aud is one of the audiences and whose jti it has not revoked,
// else 401. initialize opens a session (Mcp-Session-Id) bound to the token's sub; a later
// message without a known session gets 404, one whose token has another sub 403 (counted as a
// mismatch). tools/list answers one tool, whoami, which answers {"sub", "aud", "act",
// "session"}. GET /__test/upstream there answers {"seen": [{"hash" (SHA-256 hex of the token),
// "sub", "method"}], "sessions" ([id, sub] pairs), "mismatches", "refused" (a {"sub",
// "method"} per 401 to a revoked token), "held"}; POST /__test/revoke revokes every
// token it has accepted so far. POST /__test/hold?sub=S makes every initialize with a token of
// sub S wait (counted in "held") until POST /__test/release.
import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';
import crypto from 'node:crypto';
import http from 'node:http';

const cfg = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${cfg.port}`;
const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: cfg.kid, use: 'sig', alg: 'RS256' };
const publicPem = await jose.exportSPKI(publicKey);
const unpublished = await jose.generateKeyPair('RS256'); // signs the made-up kids' tokens
let jwksFetches = 0;
let introspections = 0;
const accounts = {
  'a-1001': { preferred_username: 'alice', email: 'alice@example.org', groups: ['staff'] },
};

const provider = new Provider(issuer, {
  clients: cfg.clients,
  jwks: { keys: [jwk] },
  scopes: ['openid', 'mcp.read', 'mcp.write'],
  findAccount: async (ctx, id) => (accounts[id]
    ? { accountId: id, claims: async () => ({ sub: id }) } : undefined),
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    const { resource } = ctx.oidc.params;
    if (resource) grant.addResourceScope(resource, 'mcp.read mcp.write');
    await grant.save();
    return grant;
  },
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    registration: { enabled: true },
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => {
        if (!/^http:\/\/127\.0\.0\.1:\d+\/.*mcp(\/[a-z0-9_-]+)?$/.test(resource)) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'mcp.read mcp.write',
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: cfg.opaque || client.clientId.endsWith('-opaque') ? 'opaque' : 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraClientMetadata: { properties: ['groups'] },
  extraTokenClaims: async (ctx, token) => {
    if (token.accountId && accounts[token.accountId]) return accounts[token.accountId];
    const client = await ctx.oidc.provider.Client.find(token.clientId);
    return client && client.groups ? { groups: client.groups } : undefined;
  },
});

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function forge(mode, token) {
  const claims = jose.decodeJwt(token);
  const header = jose.decodeProtectedHeader(token);
  const now = Math.floor(Date.now() / 1000);
  const signed = (c, h = header) => new jose.SignJWT(c).setProtectedHeader(h).sign(privateKey);
  switch (mode) {
    case 'none': return `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`;
    case 'hs256': {
      const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: cfg.kid })}.${b64(claims)}`;
      const mac = crypto.createHmac('sha256', publicPem).update(input).digest('base64url');
      return `${input}.${mac}`;
    }
    case 'tampered': {
      const parts = token.split('.');
      return `${parts[0]}.${b64({ ...claims, sub: 'someone-else' })}.${parts[2]}`;
    }
    case 'expired': return signed({ ...claims, iat: now - 7200, exp: now - 3600 });
    case 'iss': return signed({ ...claims, iss: 'http://127.0.0.1:9/other' });
    case 'typ': return signed(claims, { ...header, typ: 'logout+jwt' });
    case 'kid': {
      return new jose.SignJWT(claims)
        .setProtectedHeader({ ...header, kid: `made-up-${crypto.randomUUID()}` })
        .sign(unpublished.privateKey);
    }
    default: throw new Error(`unknown mode ${mode}`);
  }
}

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
let exchanges = 0;

provider.registerGrantType(EXCHANGE, async (ctx) => {
  const p = ctx.oidc.params;
  if (p.subject_token_type !== ACCESS_TOKEN) {
    throw new errors.InvalidRequest('subject_token_type must be an access token');
  }
  let subject;
  try {
    ({ payload: subject } = await jose.jwtVerify(p.subject_token || '', publicKey,
      { issuer, typ: 'at+jwt' }));
  } catch (e) {
    throw new errors.InvalidGrant('subject_token is not an access token of this issuer');
  }
  const auds = [].concat(subject.aud || []);
  if (!auds.some((a) => /^http:\/\/127\.0\.0\.1:\d+\/.*mcp(\/[a-z0-9_-]+)?$/.test(a))) {
    throw new errors.InvalidGrant('subject_token is not for an MCP resource');
  }
  const audience = p.audience || p.resource;
  if (!(cfg.exchange_audiences || []).includes(audience)) {
    throw new errors.InvalidTarget('no exchange for that audience');
  }
  const ttl = cfg.exchange_ttl || 600;
  const client = ctx.oidc.client.clientId;
  const token = await new jose.SignJWT({ client_id: client, scope: p.scope || undefined,
    act: { sub: client }, jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'RS256', kid: cfg.kid, typ: 'at+jwt' })
    .setIssuer(issuer).setSubject(subject.sub).setAudience(audience)
    .setIssuedAt().setExpirationTime(`${ttl}s`)
    .sign(privateKey);
  exchanges += 1;
  ctx.body = { access_token: token, issued_token_type: ACCESS_TOKEN, token_type: 'Bearer',
    expires_in: ttl, scope: p.scope || undefined };
}, ['subject_token', 'subject_token_type', 'audience', 'requested_token_type', 'scope']);

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/exchanges') {
    ctx.body = { exchanges };
    return;
  }
  if (ctx.path === '/__test/forge') {
    ctx.body = { token: await forge(ctx.query.mode, ctx.query.token) };
    return;
  }
  if (ctx.path === '/__test/jwks') {
    ctx.body = { fetches: jwksFetches };
    return;
  }
  if (ctx.path === '/__test/introspections') {
    ctx.body = { introspections };
    return;
  }
  await next();
  if (ctx.path === '/jwks' && ctx.status === 200) jwksFetches += 1;
  if (ctx.path === '/token/introspection') introspections += 1;
});

function startBackend(b) {
  const keys = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const seen = [];
  const accepted = new Set();
  const revoked = new Set();
  let refused = 0;
  const send = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer(async (req, res) => {
    if (req.url === '/__test/seen') return send(res, 200, { seen });
    if (req.url === '/__test/refused') return send(res, 200, { refused });
    if (req.url === '/__test/revoke' && req.method === 'POST') {
      accepted.forEach((j) => revoked.add(j));
      return send(res, 200, { revoked: revoked.size });
    }
    const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    if (!m) return send(res, 401, { error: 'invalid_request' });
    seen.push(crypto.createHash('sha256').update(m[1]).digest('hex'));
    let claims;
    try {
      ({ payload: claims } = await jose.jwtVerify(m[1], keys,
        { issuer, audience: b.audience, typ: 'at+jwt' }));
    } catch (e) {
      return send(res, 401, { error: 'invalid_token' });
    }
    if (revoked.has(claims.jti)) {
      refused += 1;
      return send(res, 401, { error: 'invalid_token', error_description: 'revoked' });
    }
    accepted.add(claims.jti);
    return send(res, 200, { sub: claims.sub, aud: claims.aud, act: claims.act, path: req.url });
  });
  return new Promise((resolve) => { server.listen(b.port, '127.0.0.1', resolve); });
}

function startUpstream(u) {
  const keys = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const seen = [];
  const sessions = new Map(); // Mcp-Session-Id -> sub
  const accepted = new Set();
  const revoked = new Set();
  const refused = [];
  let mismatches = 0;
  let holdSub = null;
  const held = []; // resolvers of the initialize requests held for holdSub
  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const result = (res, id, r, headers) => send(res, 200, { jsonrpc: '2.0', id, result: r }, headers);
  const handle = async (req, res, text) => {
    if (req.url === '/__test/upstream') {
      return send(res, 200, { seen, sessions: [...sessions.entries()], mismatches, refused,
        held: held.length });
    }
    if (req.url.startsWith('/__test/hold?') && req.method === 'POST') {
      holdSub = new URL(req.url, 'http://x').searchParams.get('sub');
      return send(res, 200, { hold: holdSub });
    }
    if (req.url === '/__test/release' && req.method === 'POST') {
      holdSub = null;
      const n = held.length;
      held.splice(0).forEach((go) => go());
      return send(res, 200, { released: n });
    }
    if (req.url === '/__test/revoke' && req.method === 'POST') {
      accepted.forEach((j) => revoked.add(j));
      return send(res, 200, { revoked: revoked.size });
    }
    if (req.url !== '/mcp' || req.method !== 'POST') return send(res, 405, { error: 'POST /mcp' });
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      return send(res, 400, { error: 'not JSON' });
    }
    const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    const hash = m ? crypto.createHash('sha256').update(m[1]).digest('hex') : null;
    let claims;
    try {
      ({ payload: claims } = await jose.jwtVerify(m ? m[1] : '', keys,
        { issuer, audience: u.audiences, typ: 'at+jwt' }));
    } catch (e) {
      seen.push({ hash, sub: null, method: msg.method });
      return send(res, 401, { error: 'invalid_token' },
        { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    seen.push({ hash, sub: claims.sub, method: msg.method });
    if (revoked.has(claims.jti)) {
      refused.push({ sub: claims.sub, method: msg.method });
      return send(res, 401, { error: 'invalid_token' });
    }
    accepted.add(claims.jti);
    if (msg.method === 'initialize') {
      if (holdSub !== null && claims.sub === holdSub) await new Promise((go) => held.push(go));
      const sid = crypto.randomUUID();
      sessions.set(sid, claims.sub);
      return result(res, msg.id, {
        protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} },
        serverInfo: { name: 'exchange-upstream', version: '1' },
      }, { 'mcp-session-id': sid });
    }
    const sid = req.headers['mcp-session-id'];
    if (!sid) return send(res, 400, { error: 'no session' });
    if (!sessions.has(sid)) return send(res, 404, { error: 'unknown session' });
    if (sessions.get(sid) !== claims.sub) {
      mismatches += 1;
      return send(res, 403, { error: 'the session belongs to someone else' });
    }
    if (msg.id === undefined) return send(res, 202);
    if (msg.method === 'tools/list') {
      return result(res, msg.id, { tools: [{ name: 'whoami', description: 'who calls',
        inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } }] });
    }
    if (msg.method === 'tools/call' && msg.params.name === 'whoami') {
      const text = JSON.stringify({ sub: claims.sub, aud: claims.aud, act: claims.act,
        session: sid });
      return result(res, msg.id, { content: [{ type: 'text', text }] });
    }
    return send(res, 200, { jsonrpc: '2.0', id: msg.id,
      error: { code: -32601, message: 'no such method' } });
  };
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => { text += c; });
    req.on('end', () => handle(req, res, text));
  });
  return new Promise((resolve) => { server.listen(u.port, '127.0.0.1', resolve); });
}

provider.listen(cfg.port, '127.0.0.1', async () => {
  if (cfg.backend) await startBackend(cfg.backend);
  if (cfg.upstream) await startUpstream(cfg.upstream);
  console.log(`listening ${cfg.port}`);
});

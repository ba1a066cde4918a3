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
import Provider from 'oidc-provider';
import * as jose from 'jose';
import crypto from 'node:crypto';

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
          throw new Provider.errors.InvalidTarget();
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

provider.use(async (ctx, next) => {
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

provider.listen(cfg.port, '127.0.0.1', () => {
  console.log(`listening ${cfg.port}`);
});

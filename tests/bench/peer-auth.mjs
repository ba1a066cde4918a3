// The authenticated peer for `make bench`: ref/peer-ts-sdk/server.mjs (the official MCP
// TypeScript SDK, stateless Streamable HTTP, JSON responses, one "echo" tool) unchanged,
// behind the SDK's own bearer-auth middleware (requireBearerAuth) with a token verifier,
// so the comparison includes a peer that checks tokens as mcpgate does.
//
// The verifier holds opaque access tokens as mcpgate stores them: by their SHA-256, with
// the client, scopes and expiry. A token it does not know is refused with 401 and
// WWW-Authenticate; one without the scope tools/call needs with 403. The tokens are
// random, made at start; one is printed so the benchmark can use it.
//
// Usage (from the peer's npm ci directory): node peer-auth.mjs PORT TOKEN_FILE
// (127.0.0.1; the first token is written to TOKEN_FILE, mode 0600, before listening).
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import express from "express";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import { InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { z } from "zod";

const SCOPE = "mcp:tools:write";
const TOKENS = 1000; // as many live tokens as a small deployment, so lookup is not trivial

function digest(token) {
  return createHash("sha256").update(token).digest("base64url");
}

const store = new Map();
let first = null;
for (let i = 0; i < TOKENS; i++) {
  const token = randomBytes(32).toString("base64url");
  store.set(digest(token), {
    clientId: "bench-client-" + i,
    scopes: ["mcp:tools:read", SCOPE],
    expiresAt: Math.floor(Date.now() / 1000) + 24 * 3600,
  });
  if (first === null) first = token;
}

const verifier = {
  async verifyAccessToken(token) {
    const info = store.get(digest(token));
    if (!info) throw new InvalidTokenError("Unknown access token");
    return { token, clientId: info.clientId, scopes: info.scopes, expiresAt: info.expiresAt };
  },
};

function build() {
  const s = new McpServer({ name: "peer", version: "1.0.0" });
  s.registerTool("echo", { description: "Echo", inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: "text", text: message }] }));
  return s;
}

const port = Number(process.argv[2] || 18091);
const tokenFile = process.argv[3];
if (!tokenFile) {
  console.error("usage: node peer-auth.mjs PORT TOKEN_FILE");
  process.exit(2);
}

const app = express();
app.use(express.json());
app.post("/mcp", requireBearerAuth({ verifier, requiredScopes: [SCOPE] }), async (req, res) => {
  const server = build();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
writeFileSync(tokenFile, first + "\n", { mode: 0o600 });
app.listen(port, "127.0.0.1", () => console.log(`authenticated peer listening on 127.0.0.1:${port}`));

-- 006_upstream.sql - the tool lists of upstream MCP servers ("mcp" backends).
--
-- An upstream's tools/list is fetched at most once per cache_ttl_s across
-- every process and host: the process that finds the row expired claims it
-- (claimed_until), fetches the list and stores it here; the others read it
-- and keep their own copy until generation changes. A failed fetch keeps
-- the last list (served while the upstream is down) and holds the claim a
-- little longer, so the upstream is not asked again by every request.
CREATE TABLE upstream_tools (
    backend       text PRIMARY KEY CHECK (backend ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    source        text,           -- SHA-256 (hex) of the upstream URL the list came from
    tools         text,           -- the tools as a JSON array (MCP Tool objects), or NULL
    generation    bigint NOT NULL DEFAULT 0,  -- increases with every stored list
    fetched_at    timestamptz,
    expires_at    timestamptz,
    claimed_until timestamptz,    -- a fetch is under way (or failed) until then
    fetches       bigint NOT NULL DEFAULT 0,  -- lists stored
    failures      bigint NOT NULL DEFAULT 0,  -- fetches that failed
    last_error    text            -- the last failure, for `mcpgate backend list` and people
);

-- 014_bounds.sql - limits that hold across every process and host: leases
-- on held resources, and sign-in attempts reserved before they are checked.
--
-- mod_fcgid runs many single-threaded processes and several hosts share one
-- database, so a count kept in one process's memory limits nothing. A lease
-- is a row per held thing (a held SSE stream, a waiting unauthenticated
-- request, a client metadata fetch in progress) under one or more keys:
--   su:<user id>     held streams of a user
--   st:<token hash>  held streams of one access token or API key
--   uw               unauthenticated requests that wait (doctor, metadata fetches)
--   cf:<url hash>    a client metadata document being fetched
--   cx:<url hash>    a failed fetch of that document, kept briefly
-- Leases are taken under an advisory lock per key (so two processes cannot
-- both see room for the last one), deleted when the holder is done, and
-- expire on their own: a process that dies holding one loses it after its
-- ttl (a stream's bounded life plus a margin).
CREATE TABLE mcp_leases (
    id         bigserial PRIMARY KEY,
    holder     bigint NOT NULL,     -- one acquisition: every key it took
    key        text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX mcp_leases_key ON mcp_leases (key, expires_at);
CREATE INDEX mcp_leases_holder ON mcp_leases (holder);

-- Takes one lease under each of p_keys when every key holds fewer than its
-- p_caps entry live leases; returns the holder id for lease_release, or NULL
-- (nothing taken) when a key is full. Keys are locked in sorted order, so
-- concurrent calls with overlapping keys cannot deadlock.
CREATE FUNCTION lease_acquire(p_keys text[], p_caps int[], p_ttl_s int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    k text;
    i int;
    held int;
    g bigint;
BEGIN
    FOR k IN SELECT DISTINCT u FROM unnest(p_keys) AS u ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('mcpgate lease ' || k, 0));
    END LOOP;
    DELETE FROM mcp_leases WHERE key = ANY (p_keys) AND expires_at <= now();
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        SELECT count(*) INTO held FROM mcp_leases WHERE key = p_keys[i];
        IF held >= p_caps[i] THEN
            RETURN NULL;
        END IF;
    END LOOP;
    g := nextval('mcp_leases_id_seq');
    INSERT INTO mcp_leases (holder, key, expires_at)
        SELECT g, u, now() + make_interval(secs => p_ttl_s) FROM unnest(p_keys) AS u;
    RETURN g;
END $$;

-- Reserves a sign-in attempt for account key p_user and address key p_addr
-- before the password is checked: it is counted as a failure at once, so
-- concurrent guesses cannot all pass the check before any is counted
-- (store_login_succeeded gives the reservation back). Returns the seconds
-- still to wait (nothing counted) or 0 (counted: go ahead). The delay is
-- 2^(failures - free) seconds after the last failure, at most 15 minutes,
-- once an account has p_user_free failures or an address p_addr_free;
-- counters idle for an hour start over.
CREATE FUNCTION login_reserve(p_user text, p_addr text, p_user_free int, p_addr_free int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    wait_s int;
BEGIN
    INSERT INTO login_failures (key, failures, last_failed)
        VALUES (p_user, 0, now()), (p_addr, 0, now())
        ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM login_failures WHERE key IN (p_user, p_addr) ORDER BY key FOR UPDATE;
    SELECT coalesce(max(ceil(extract(epoch FROM last_failed
               + make_interval(secs => least(900, power(2, failures
                   - CASE WHEN key = p_user THEN p_user_free ELSE p_addr_free END)))
               - now()))), 0)::int
        INTO wait_s
        FROM login_failures
        WHERE key IN (p_user, p_addr) AND last_failed > now() - interval '1 hour'
          AND ((key = p_user AND failures >= p_user_free)
               OR (key = p_addr AND failures >= p_addr_free));
    IF wait_s > 0 THEN
        RETURN wait_s;
    END IF;
    UPDATE login_failures
        SET failures = CASE WHEN last_failed < now() - interval '1 hour' THEN 1
                            ELSE failures + 1 END,
            last_failed = now()
        WHERE key IN (p_user, p_addr);
    RETURN 0;
END $$;

-- 017_metrics.sql - counters that add up across processes and hosts, and the
-- admin role.
--
-- Each responder process counts in memory (util/metrics.h) and every few
-- seconds, and when it stops, adds what changed since its last flush to
-- these rows with one upsert (value = value + delta): the rows are the
-- deployment's totals per host, and /metrics answers with their sums over
-- hosts. name and labels are in the Prometheus text format's spelling
-- (labels as k="v",k2="v2", '' for none).
CREATE TABLE metrics (
    host       text NOT NULL CHECK (length(host) BETWEEN 1 AND 255),
    name       text NOT NULL CHECK (name ~ '^[a-zA-Z_:][a-zA-Z0-9_:]{0,71}$'),
    labels     text NOT NULL CHECK (length(labels) < 440),
    value      double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host, name, labels)
);

-- Users who may read /metrics with their API key and use the admin
-- console: granted with `mcpgate user admin NAME`.
ALTER TABLE users ADD COLUMN admin boolean NOT NULL DEFAULT false;

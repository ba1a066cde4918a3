-- 013_tasks.sql - the tasks extension (io.modelcontextprotocol/tasks,
-- SEP-2663): a tools/call that became a task.
--
-- The row is the task: any process on any host answers tasks/get,
-- tasks/update and tasks/cancel from it, while one process (runner, the
-- host and pid that created it) runs the tool. Status moves
--   working <-> input_required -> completed | failed | cancelled
-- and a terminal status never changes again. While input_required,
-- input_requests holds the requests still unanswered; tasks/update moves
-- answers into input_answers (only for pending keys) and sets the task
-- working again once none is left. A task is forgotten at expires_at
-- (created_at + ttl_ms).

CREATE TABLE mcp_tasks (
    task_id        text PRIMARY KEY CHECK (task_id ~ '^[A-Za-z0-9_-]{16,64}$'),
    user_id        bigint REFERENCES users (id) ON DELETE CASCADE, -- NULL: auth = none
    tool           text NOT NULL,
    status         text NOT NULL CHECK (status IN ('working', 'input_required', 'completed',
                                                    'failed', 'cancelled')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    ttl_ms         bigint NOT NULL CHECK (ttl_ms > 0),
    expires_at     timestamptz NOT NULL,
    result         jsonb,                         -- the CallToolResult once completed
    error          jsonb,                         -- {code, message} once failed
    input_requests jsonb NOT NULL DEFAULT '{}',   -- key -> {method, params}, unanswered
    input_answers  jsonb NOT NULL DEFAULT '{}',   -- key -> the client's result
    runner         text NOT NULL                  -- host:pid running the tool
);
CREATE INDEX mcp_tasks_expires ON mcp_tasks (expires_at);

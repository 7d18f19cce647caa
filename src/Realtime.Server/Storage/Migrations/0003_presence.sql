-- Presence: every live connection (hub or SSE) is a row, and every running node a row that it
-- refreshes every third of the node timeout. A node whose heartbeat is older than the timeout is
-- dead: readers ignore it at once and the other nodes close its connections and delete its row.

CREATE TABLE nodes (
    id             text        PRIMARY KEY,
    started_at     timestamptz NOT NULL,
    last_heartbeat timestamptz NOT NULL
);

CREATE TABLE connections (
    id              text        PRIMARY KEY,
    user_id         text        NOT NULL,
    node_id         text        NOT NULL,
    transport       text        NOT NULL,
    user_agent      text,
    ip              text,
    connected_at    timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    disconnected_at timestamptz
);

-- "Is this user online anywhere?" and an admin's presence view: one user's live connections.
CREATE INDEX connections_live_user ON connections (user_id) WHERE disconnected_at IS NULL;

-- Heartbeats, stats and the stale-node sweep: one node's live connections.
CREATE INDEX connections_live_node ON connections (node_id) WHERE disconnected_at IS NULL;

-- Retention purges closed rows once they are old.
CREATE INDEX connections_disconnected_at ON connections (disconnected_at) WHERE disconnected_at IS NOT NULL;

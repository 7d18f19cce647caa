-- Web Push: the VAPID key pair every node signs with, the browsers' push subscriptions, the
-- planner's cursor over the notification log, and the outbox of push jobs that workers on every
-- node claim with FOR UPDATE SKIP LOCKED.

-- Generated once when Push__PublicKey/Push__PrivateKey are unset; the first node to start wins.
CREATE TABLE push_vapid_keys (
    id          smallint    PRIMARY KEY CHECK (id = 1),
    public_key  text        NOT NULL,
    private_key text        NOT NULL,
    created_at  timestamptz NOT NULL
);

-- One row per browser subscription; an endpoint belongs to one user (the last who posted it).
CREATE TABLE push_subscriptions (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint        text        NOT NULL UNIQUE,
    user_id         text        NOT NULL,
    p256dh          text        NOT NULL,
    auth            text        NOT NULL,
    expires_at      timestamptz,
    user_agent      text,
    created_at      timestamptz NOT NULL,
    subscribed_at   timestamptz NOT NULL,
    last_success_at timestamptz,
    last_failure_at timestamptz
);

-- A user's subscriptions (planning, the per-user cap: the least recently subscribed goes).
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, subscribed_at);

-- The planner's position in the notification log: every id up to last_id is planned. One row,
-- locked by the node that plans, so each notification is planned by one node once.
CREATE TABLE push_planner (
    id      smallint PRIMARY KEY CHECK (id = 1),
    last_id bigint   NOT NULL
);

-- Start after what exists already: switching Web Push on must not push an old inbox.
INSERT INTO push_planner (id, last_id)
SELECT 1, CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM notification_ids;

-- The outbox: one row per notification and subscription, and what became of it (the start of a
-- delivery trace). A claimed job's due_at is its lease: a node that dies mid-send leaves it due
-- again once the lease ends.
CREATE TABLE push_jobs (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id bigint      NOT NULL,
    subscription_id bigint      NOT NULL,
    user_id         text        NOT NULL,
    state           text        NOT NULL CHECK (state IN ('queued', 'sent', 'gone', 'failed', 'expired', 'cancelled')),
    attempts        integer     NOT NULL DEFAULT 0,
    status          integer,
    last_error      text,
    reduced         boolean     NOT NULL DEFAULT false,
    claims          integer     NOT NULL DEFAULT 0,
    claimed_by      text,
    due_at          timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    UNIQUE (notification_id, subscription_id)
);

-- Workers claim due jobs by due time.
CREATE INDEX push_jobs_due ON push_jobs (due_at) WHERE state = 'queued';

-- Retention purges finished jobs once they are old.
CREATE INDEX push_jobs_finished ON push_jobs (updated_at) WHERE state <> 'queued';

-- "Was this user connected when the notification was committed?": the planner reads a user's
-- connection records, open and recently closed, by connect time.
CREATE INDEX connections_user_connected_at ON connections (user_id, connected_at);

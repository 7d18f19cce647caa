-- Notifications, their ids in commit order, per-user unread counters and idempotency keys.

-- Ids are allocated only under NotificationLog's advisory lock, one transaction at a time, so
-- CACHE 1 keeps them in commit order (a cached block per session would not be).
CREATE SEQUENCE notification_ids AS bigint CACHE 1;

CREATE TABLE notifications (
    id          bigint      PRIMARY KEY,
    user_id     text        NOT NULL,
    category    text        NOT NULL,
    title       text        NOT NULL,
    body        text,
    data        jsonb,
    link        text,
    priority    text        NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    read_at     timestamptz
);

-- Inbox pages and resume: one user's notifications by id.
CREATE INDEX notifications_user_id_id ON notifications (user_id, id);

-- Unread counts subtract expired, still unread rows; only rows with a TTL can be in that set.
CREATE INDEX notifications_unread_expiring ON notifications (user_id, expires_at)
    WHERE read_at IS NULL AND expires_at IS NOT NULL;

-- Retention purges expired rows.
CREATE INDEX notifications_expires_at ON notifications (expires_at) WHERE expires_at IS NOT NULL;

-- Unread notifications per user, kept up to date by every transaction that changes read state,
-- so a send never counts. Expired rows stay counted until purged; queries subtract them.
CREATE TABLE user_counters (
    user_id text    PRIMARY KEY,
    unread  integer NOT NULL CHECK (unread >= 0)
);

-- One row per sender and key for 24 hours: the request's hash and the ids it created.
CREATE TABLE idempotency_keys (
    sender           text        NOT NULL,
    key              text        NOT NULL,
    request_hash     bytea       NOT NULL,
    notification_ids bigint[],
    user_ids         text[],
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (sender, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

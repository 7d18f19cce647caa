-- System notices: stored once, merged into every inbox at read time, with per-user read and
-- deleted state in receipts (a row only once a user reads or deletes one). Their ids come from
-- notification_ids under the same lock, so one cursor covers both.

CREATE TABLE broadcasts (
    id          bigint      PRIMARY KEY,
    sender      text        NOT NULL,
    category    text        NOT NULL,
    title       text        NOT NULL,
    body        text,
    data        jsonb,
    link        text,
    priority    text        NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz
);

CREATE INDEX broadcasts_expires_at ON broadcasts (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE broadcast_receipts (
    user_id      text        NOT NULL,
    broadcast_id bigint      NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    read_at      timestamptz,
    deleted      boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (user_id, broadcast_id)
);

CREATE INDEX broadcast_receipts_broadcast_id ON broadcast_receipts (broadcast_id);

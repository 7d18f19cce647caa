-- A send's content is stored once, however many recipients it has: notification_contents holds
-- what its notifications show (category, title, body, data, link, priority), and notifications
-- keeps one small row per recipient with its state (read, expiry) and a reference to its content.
--
-- A content row's id is the id of the first notification that refers to it, and last_id the id
-- of the last: a content is written in the same transaction as every notification that refers
-- to it (never referred to later), so all of them have ids in [id, last_id]. That range, read on
-- the primary key of notifications, is how retention tells that a content is no longer referred
-- to, without an index on notifications.content_id. There is no foreign key for the same reason
-- (it would look up and lock the content row once per recipient inside the id lock); retention
-- deletes a content only once nothing refers to it.
CREATE TABLE notification_contents (
    id        bigint PRIMARY KEY,
    last_id   bigint NOT NULL,
    category  text   NOT NULL,
    title     text   NOT NULL,
    body      text,
    data      jsonb,
    link      text,
    priority  text   NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    CHECK (last_id >= id)
);

-- Existing rows: the notifications of one transaction (one created_at) with the same content share
-- one content row, so old bulk sends shrink too. The table is rebuilt rather than altered: a
-- dropped column's bytes would stay in every row until it is rewritten.
ALTER TABLE notifications RENAME TO notifications_0004;
ALTER TABLE notifications_0004 RENAME CONSTRAINT notifications_pkey TO notifications_0004_pkey;
ALTER INDEX notifications_user_id_id RENAME TO notifications_0004_user_id_id;
ALTER INDEX notifications_unread_expiring RENAME TO notifications_0004_unread_expiring;
ALTER INDEX notifications_expires_at RENAME TO notifications_0004_expires_at;

-- Fixed-width columns first (no alignment padding); user_id last.
CREATE TABLE notifications (
    id          bigint      PRIMARY KEY,
    content_id  bigint      NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    read_at     timestamptz,
    user_id     text        NOT NULL
);

INSERT INTO notifications (id, content_id, created_at, expires_at, read_at, user_id)
SELECT id, min(id) OVER (PARTITION BY created_at, category, title, body, data, link, priority), created_at, expires_at, read_at, user_id
FROM notifications_0004;

INSERT INTO notification_contents (id, last_id, category, title, body, data, link, priority)
SELECT o.id, g.last_id, o.category, o.title, o.body, o.data, o.link, o.priority
FROM (SELECT content_id, max(id) AS last_id FROM notifications GROUP BY content_id) g
JOIN notifications_0004 o ON o.id = g.content_id;

DROP TABLE notifications_0004;

-- Inbox pages and resume: one user's notifications by id.
CREATE INDEX notifications_user_id_id ON notifications (user_id, id);

-- Unread counts subtract expired, still unread rows; only rows with a TTL can be in that set.
CREATE INDEX notifications_unread_expiring ON notifications (user_id, expires_at)
    WHERE read_at IS NULL AND expires_at IS NOT NULL;

-- Retention purges expired rows.
CREATE INDEX notifications_expires_at ON notifications (expires_at) WHERE expires_at IS NOT NULL;

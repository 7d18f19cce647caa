-- Collapse keys: a new notification replaces the recipient's older unread one with the same key,
-- in the transaction that inserts it.

ALTER TABLE notifications ADD COLUMN collapse_key text;

-- Finding a recipient's unread notifications with a key, inside the commit transaction.
CREATE INDEX notifications_unread_collapse_key ON notifications (user_id, collapse_key)
    WHERE collapse_key IS NOT NULL AND read_at IS NULL;

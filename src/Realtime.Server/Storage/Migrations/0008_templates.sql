-- Notification templates (Liquid texts per locale), one row per key. Every replace adds 1 to
-- version; a delete keeps the row (document NULL, deleted_at set), so a template made again under
-- the same key counts on: one (key, version) names one content for ever, which node caches and
-- idempotency hashes rely on.
CREATE TABLE templates (
    key        text COLLATE "C" PRIMARY KEY,
    version    integer     NOT NULL,
    document   json,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    CHECK ((document IS NULL) = (deleted_at IS NOT NULL))
);

-- Notification preferences: one row per user who saved any (the others have the defaults). The
-- document is the validated, normalized JSON the API answers with; nodes cache it briefly and drop
-- a user's entry when the bus says it changed.
CREATE TABLE user_preferences (
    user_id    text        PRIMARY KEY,
    document   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);

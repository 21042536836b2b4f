-- The outbox: each message sealed under the outbox key until delivered, then purged. Times the
-- worker compares are integer microseconds, so they order the same on every backend.
CREATE TABLE outbox (
    id BLOB PRIMARY KEY NOT NULL,
    subject_id BLOB REFERENCES subjects (id),
    kind TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    sealed BLOB,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_us INTEGER NOT NULL,
    claimed_until_us INTEGER,
    created_at TEXT NOT NULL,
    sent_at TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (state, next_attempt_us);
CREATE INDEX outbox_by_subject ON outbox (subject_id);

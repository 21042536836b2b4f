-- The outbox: each message sealed under the outbox key until delivered, then purged. Times the
-- worker compares are integer microseconds, so they order the same on every backend.
CREATE TABLE outbox (
    id UUID PRIMARY KEY,
    subject_id UUID REFERENCES subjects (id),
    kind TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    sealed BYTEA,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_us BIGINT NOT NULL,
    claimed_until_us BIGINT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_us);
CREATE INDEX outbox_by_subject ON outbox (subject_id);

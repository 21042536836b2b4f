-- Staff accounts and their sessions (credentials only: a password hash, the sealed second
-- factor, token digests), and the append-only ledgers of the practice's own records: staff
-- paperwork, incidents, audits and risk assessments.
CREATE TABLE staff (
    id UUID PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT,
    totp_sealed BYTEA,
    totp_last_step BIGINT,
    enrollment_digest BYTEA UNIQUE,
    enrollment_expires TEXT,
    failed_attempts BIGINT NOT NULL,
    locked_until TEXT,
    active BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE staff_sessions (
    token_digest BYTEA PRIMARY KEY,
    staff_id UUID NOT NULL REFERENCES staff (id),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

CREATE TABLE ledger (
    seq BIGSERIAL PRIMARY KEY,
    book TEXT NOT NULL,
    entity UUID NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX ledger_by_entity ON ledger (book, entity, seq);

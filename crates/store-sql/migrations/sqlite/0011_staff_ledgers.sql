-- Staff accounts and their sessions (credentials only: a password hash, the sealed second
-- factor, token digests), and the append-only ledgers of the practice's own records: staff
-- paperwork, incidents, audits and risk assessments.
CREATE TABLE staff (
    id BLOB PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT,
    totp_sealed BLOB,
    totp_last_step INTEGER,
    enrollment_digest BLOB UNIQUE,
    enrollment_expires TEXT,
    failed_attempts INTEGER NOT NULL,
    locked_until TEXT,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE staff_sessions (
    token_digest BLOB PRIMARY KEY,
    staff_id BLOB NOT NULL REFERENCES staff (id),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
) STRICT;
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY,
    book TEXT NOT NULL,
    entity BLOB NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL
) STRICT;
CREATE INDEX ledger_by_entity ON ledger (book, entity, seq);

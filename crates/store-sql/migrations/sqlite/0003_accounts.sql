-- Accounts (the contract) and server-side sessions. Credentials only: a password hash and the
-- SHA-256 of each session token; the login email is found through the blind index.
CREATE TABLE accounts (
    subject_id BLOB PRIMARY KEY NOT NULL REFERENCES subjects (id),
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    closed_at TEXT
) STRICT;

CREATE TABLE sessions (
    token_digest BLOB PRIMARY KEY NOT NULL,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_by_subject ON sessions (subject_id);

-- Accounts (the contract) and server-side sessions. Credentials only: a password hash and the
-- SHA-256 of each session token; the login email is found through the blind index.
CREATE TABLE accounts (
    subject_id UUID PRIMARY KEY REFERENCES subjects (id),
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    closed_at TEXT
);

CREATE TABLE sessions (
    token_digest BYTEA PRIMARY KEY,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_by_subject ON sessions (subject_id);

-- Password reset tokens: only their SHA-256, single use, valid for an hour.
CREATE TABLE password_resets (
    token_digest BLOB PRIMARY KEY NOT NULL,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    expires_at TEXT NOT NULL,
    used_at TEXT
) STRICT;
CREATE INDEX password_resets_by_subject ON password_resets (subject_id);

-- Copies of a person's data behind download links: the token's digest, the copy sealed under
-- the outbox key, and when the link stops working.
CREATE TABLE downloads (
    token_digest BLOB PRIMARY KEY NOT NULL,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    sealed BLOB NOT NULL,
    expires_at_us INTEGER NOT NULL
) STRICT;
CREATE INDEX downloads_by_subject ON downloads (subject_id);

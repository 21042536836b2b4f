-- Copies of a person's data behind download links: the token's digest, the copy sealed under
-- the outbox key, and when the link stops working.
CREATE TABLE downloads (
    token_digest BYTEA PRIMARY KEY,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    sealed BYTEA NOT NULL,
    expires_at_us BIGINT NOT NULL
);
CREATE INDEX downloads_by_subject ON downloads (subject_id);

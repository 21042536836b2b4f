-- Letters from addresses not yet proven: held apart from people until the writer sends the
-- code back, then admitted as a request in one transaction (with a new person when nobody holds
-- the address). Nothing about anyone is stored before that, and an unproven letter goes when its
-- code expires (the sweep's leftovers). What it asks is sealed under the outbox key.
CREATE TABLE letters (
    id UUID PRIMARY KEY,
    sealed BYTEA NOT NULL,
    code_digest BYTEA NOT NULL,
    expires_at_us BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    received_at TEXT NOT NULL
);

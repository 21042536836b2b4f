-- Letters read from the data protection service's mailbox, waiting to be classified: sender,
-- subject and text sealed under the outbox key, found again only by a keyed digest of the
-- Message-ID (one row per message, whichever server read it). Classified, a letter moves to
-- `letters` under the same id, in the same transaction.
CREATE TABLE inbox (
    id UUID PRIMARY KEY,
    message_digest BYTEA NOT NULL UNIQUE,
    sealed BYTEA NOT NULL,
    locale TEXT NOT NULL,
    received_at TEXT NOT NULL,
    received_us BIGINT NOT NULL
);

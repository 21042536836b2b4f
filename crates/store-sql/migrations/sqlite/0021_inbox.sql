-- Letters read from the data protection service's mailbox, waiting to be classified: sender,
-- subject and text sealed under the outbox key, found again only by a keyed digest of the
-- Message-ID (one row per message, whichever server read it). Classified, a letter moves to
-- `letters` under the same id, in the same transaction.
CREATE TABLE inbox (
    id BLOB PRIMARY KEY NOT NULL,
    message_digest BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL,
    locale TEXT NOT NULL,
    received_at TEXT NOT NULL,
    received_us INTEGER NOT NULL
) STRICT;

-- Retention: when an account was last used and warned about being idle; legal holds as an
-- append-only ledger (placed, released); leases so that two servers never run one job at once.
-- The audit checkpoint lives with the anchor in the key store: where the pruned log was cut.
ALTER TABLE accounts ADD COLUMN last_seen_at TEXT;
ALTER TABLE accounts ADD COLUMN idle_notice_at TEXT;

CREATE TABLE legal_holds (
    seq BIGSERIAL PRIMARY KEY,
    hold_id UUID NOT NULL,
    action TEXT NOT NULL,
    subject_id UUID,
    categories TEXT NOT NULL,
    reference TEXT NOT NULL,
    until TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX legal_holds_by_hold ON legal_holds (hold_id);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_us BIGINT NOT NULL
);

CREATE TABLE vault.chain_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);

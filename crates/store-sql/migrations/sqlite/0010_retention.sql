-- Retention: when an account was last used and warned about being idle; legal holds as an
-- append-only ledger (placed, released); leases so that two servers never run one job at once.
ALTER TABLE accounts ADD COLUMN last_seen_at TEXT;
ALTER TABLE accounts ADD COLUMN idle_notice_at TEXT;

CREATE TABLE legal_holds (
    seq INTEGER PRIMARY KEY,
    hold_id BLOB NOT NULL,
    action TEXT NOT NULL,
    subject_id BLOB,
    categories TEXT NOT NULL,
    reference TEXT NOT NULL,
    until TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
) STRICT;
CREATE INDEX legal_holds_by_hold ON legal_holds (hold_id);

CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    until_us INTEGER NOT NULL
) STRICT;

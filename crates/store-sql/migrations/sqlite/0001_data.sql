-- The data store. Every column is declared in core's STORAGE_SCHEMA; personal data lives only
-- in pd_values.sealed (sealed by the subject's key) and blind_index.digest (keyed digests).
CREATE TABLE subjects (
    id BLOB PRIMARY KEY NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE pd_values (
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    field TEXT NOT NULL,
    key_class TEXT NOT NULL,
    sealed BLOB NOT NULL,
    source TEXT NOT NULL,
    collected_at TEXT NOT NULL,
    PRIMARY KEY (subject_id, field)
) STRICT;

CREATE TABLE blind_index (
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    field TEXT NOT NULL,
    digest BLOB NOT NULL,
    PRIMARY KEY (field, digest, subject_id)
) STRICT;
CREATE INDEX blind_index_by_subject ON blind_index (subject_id);

CREATE TABLE basis_events (
    id INTEGER PRIMARY KEY,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    kind TEXT NOT NULL,
    purpose TEXT,
    channel TEXT NOT NULL,
    at TEXT NOT NULL
) STRICT;
CREATE INDEX basis_events_by_subject ON basis_events (subject_id, id);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_id BLOB,
    categories TEXT NOT NULL,
    purpose TEXT,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
) STRICT;

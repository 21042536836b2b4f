-- The data store. Every column is declared in core's STORAGE_SCHEMA; personal data lives only
-- in pd_values.sealed (sealed by the subject's key) and blind_index.digest (keyed digests).
-- Every PD table carries subject_id, the key to distribute by on a distributed engine.
CREATE TABLE subjects (
    id UUID PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE pd_values (
    subject_id UUID NOT NULL REFERENCES subjects (id),
    field TEXT NOT NULL,
    key_class TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    source TEXT NOT NULL,
    collected_at TEXT NOT NULL,
    PRIMARY KEY (subject_id, field)
);

CREATE TABLE blind_index (
    subject_id UUID NOT NULL REFERENCES subjects (id),
    field TEXT NOT NULL,
    digest BYTEA NOT NULL,
    PRIMARY KEY (field, digest, subject_id)
);
CREATE INDEX blind_index_by_subject ON blind_index (subject_id);

CREATE TABLE basis_events (
    id BIGSERIAL PRIMARY KEY,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    kind TEXT NOT NULL,
    purpose TEXT,
    channel TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX basis_events_by_subject ON basis_events (subject_id, id);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_id UUID,
    categories TEXT NOT NULL,
    purpose TEXT,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);

-- The key store, in its own schema apart from the data (grant it to the service alone).
CREATE SCHEMA vault;

CREATE TABLE vault.vault_keys (
    owner_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    class TEXT NOT NULL,
    kek_version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL,
    PRIMARY KEY (owner_kind, subject_id, class)
);

CREATE TABLE vault.chain_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);

-- The key store, in its own file apart from the data: wrapped data keys and the audit anchor.
CREATE TABLE vault_keys (
    owner_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    class TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped BLOB NOT NULL,
    PRIMARY KEY (owner_kind, subject_id, class)
) STRICT;

CREATE TABLE chain_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
) STRICT;

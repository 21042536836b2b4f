-- Where the pruned audit log was cut: the last pruned entry's sequence number and hash, so the
-- chain verifies from there (kept with the anchor, apart from the data it vouches for).
CREATE TABLE chain_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
) STRICT;

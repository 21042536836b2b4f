-- Signed erasure receipts: the server keeps each one's hash, never its text or whose it was
-- (the person may no longer exist), so a receipt shown later can be recognised as issued here.
CREATE TABLE erasure_receipts (
    digest BLOB PRIMARY KEY NOT NULL,
    id BLOB NOT NULL UNIQUE,
    cause TEXT NOT NULL,
    issued_at TEXT NOT NULL
);

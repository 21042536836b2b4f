-- Erasures decided and not yet ended: the intent is written before any key is destroyed and
-- deleted in the transaction that deletes the rows, so a crash in between leaves an intent to
-- carry out — never a half-erased person. The intent is core's own text: key classes,
-- categories, the signed receipt and a sealed message; no value in clear.
CREATE TABLE erasures_underway (
    subject_id UUID PRIMARY KEY REFERENCES subjects (id),
    decided_at TEXT NOT NULL,
    intent TEXT NOT NULL
);

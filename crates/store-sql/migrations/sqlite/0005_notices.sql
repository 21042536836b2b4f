-- Notices queued for a person: who, which kind, when. No address and no text: those are read
-- through the purpose gate at delivery.
CREATE TABLE notices (
    id BLOB PRIMARY KEY NOT NULL,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    kind TEXT NOT NULL,
    queued_at TEXT NOT NULL
) STRICT;
CREATE INDEX notices_by_subject ON notices (subject_id);

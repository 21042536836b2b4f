-- Notices queued for a person: who, which kind, when. No address and no text: those are read
-- through the purpose gate at delivery.
CREATE TABLE notices (
    id UUID PRIMARY KEY,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    kind TEXT NOT NULL,
    queued_at TEXT NOT NULL
);
CREATE INDEX notices_by_subject ON notices (subject_id);

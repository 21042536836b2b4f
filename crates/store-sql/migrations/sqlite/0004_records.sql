-- Records: the platform's workflows about a person (orders, enrollments, support tickets), one
-- table for all. In clear only what the workflow and retention need: kind, state, a keyed
-- digest to find a record by (a payment reference, a course), and when its retention clock
-- started. Everything personal about a record is sealed in the events that point at it.
ALTER TABLE pd_events ADD COLUMN record_id BLOB;

CREATE TABLE records (
    id BLOB PRIMARY KEY NOT NULL,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    digest BLOB,
    anchored_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX records_by_subject ON records (subject_id, id);
CREATE INDEX records_by_digest ON records (kind, digest);

-- The catalog of courses, webinars and consultations: no personal data.
CREATE TABLE offerings (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    title_ru TEXT NOT NULL,
    title_kk TEXT NOT NULL,
    title_en TEXT NOT NULL
) STRICT;

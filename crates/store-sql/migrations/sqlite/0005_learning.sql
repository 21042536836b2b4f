-- The catalog (no personal data) and enrollments: state and completion time in clear for the
-- workflow and the 3-year rule, the course as a keyed digest for rosters; the course and the
-- progress themselves are sealed education events of the enrollment.
CREATE TABLE offerings (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    title_ru TEXT NOT NULL,
    title_kk TEXT NOT NULL,
    title_en TEXT NOT NULL
) STRICT;

CREATE TABLE enrollments (
    id BLOB PRIMARY KEY NOT NULL,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    course_digest BLOB NOT NULL,
    state TEXT NOT NULL,
    completed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX enrollments_by_subject ON enrollments (subject_id);
CREATE INDEX enrollments_by_course ON enrollments (course_digest);

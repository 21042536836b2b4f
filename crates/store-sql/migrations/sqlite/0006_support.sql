-- Support tickets: state and closing time in clear (closing starts the two-year clock); the
-- subject line and every message are sealed contact events of the ticket.
CREATE TABLE tickets (
    id BLOB PRIMARY KEY NOT NULL,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    state TEXT NOT NULL,
    closed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX tickets_by_subject ON tickets (subject_id);

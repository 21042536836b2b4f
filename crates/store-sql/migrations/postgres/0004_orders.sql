-- Orders: the workflow state of a payment in clear, its money and references sealed in the
-- payment events that point at it.
ALTER TABLE pd_events ADD COLUMN record_id UUID;

CREATE TABLE orders (
    id UUID PRIMARY KEY,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    state TEXT NOT NULL,
    reference_digest BYTEA NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX orders_by_subject ON orders (subject_id);
CREATE UNIQUE INDEX orders_by_reference ON orders (reference_digest);

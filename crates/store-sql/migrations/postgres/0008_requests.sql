-- Rights requests: in clear what the queue needs (right, state, channel, the clock); the
-- description and the answer are sealed events of the request. Codes only as digests.
CREATE TABLE requests (
    id UUID PRIMARY KEY,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    right_kind TEXT NOT NULL,
    state TEXT NOT NULL,
    channel TEXT NOT NULL,
    received_at TEXT NOT NULL,
    due_on TEXT NOT NULL,
    overdue_from_us BIGINT NOT NULL,
    closed_at TEXT
);
CREATE INDEX requests_by_subject ON requests (subject_id);
CREATE INDEX requests_open ON requests (closed_at, overdue_from_us);

CREATE TABLE request_codes (
    request_id UUID PRIMARY KEY REFERENCES requests (id),
    code_digest BYTEA NOT NULL,
    expires_at_us BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);

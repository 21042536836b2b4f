-- The consent ledger and event-stored personal data (visits, interactions).
CREATE TABLE consent_events (
    id BIGSERIAL PRIMARY KEY,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    purpose TEXT NOT NULL,
    action TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    channel TEXT NOT NULL,
    evidence BYTEA,
    terms TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX consent_events_by_subject ON consent_events (subject_id, id);

CREATE TABLE pd_events (
    id UUID PRIMARY KEY,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    category TEXT NOT NULL,
    key_class TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    source TEXT NOT NULL,
    collected_at TEXT NOT NULL
);
CREATE INDEX pd_events_by_subject ON pd_events (subject_id, id);

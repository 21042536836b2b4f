-- The consent ledger and event-stored personal data (visits, interactions).
CREATE TABLE consent_events (
    id INTEGER PRIMARY KEY,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    purpose TEXT NOT NULL,
    action TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    channel TEXT NOT NULL,
    evidence BLOB,
    terms TEXT NOT NULL,
    at TEXT NOT NULL
) STRICT;
CREATE INDEX consent_events_by_subject ON consent_events (subject_id, id);

CREATE TABLE pd_events (
    id BLOB PRIMARY KEY NOT NULL,
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    category TEXT NOT NULL,
    key_class TEXT NOT NULL,
    sealed BLOB NOT NULL,
    source TEXT NOT NULL,
    collected_at TEXT NOT NULL
) STRICT;
CREATE INDEX pd_events_by_subject ON pd_events (subject_id, id);

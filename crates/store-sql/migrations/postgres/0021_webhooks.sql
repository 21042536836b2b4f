-- Webhooks to the platform. An endpoint's signing secrets are sealed under the outbox key;
-- `kinds` is the event kinds it wants, comma-framed (`,consent.given,…,`), or `*` for all.
CREATE TABLE webhook_endpoints (
    id UUID PRIMARY KEY,
    url TEXT NOT NULL,
    kinds TEXT NOT NULL,
    secrets BYTEA NOT NULL,
    created_at TEXT NOT NULL,
    -- Since when every attempt has failed; cleared by a delivery that succeeds.
    failing_since_us BIGINT,
    disabled_at TEXT
);
-- Each event written in the transaction of its change, numbered by the audit entry it rode on
-- (appends are serialised, so this order is the order of commits). No reference to subjects:
-- an erasure's own event must outlive the person.
CREATE TABLE webhook_events (
    seq BIGINT PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    subject_id UUID,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
-- One row per event and endpoint that wants it, kept after delivery for inspection. `chain`
-- is what delivery keeps in order (the subject, or '' for events about no one).
CREATE TABLE webhook_deliveries (
    endpoint_id UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq BIGINT NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
    chain TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_us BIGINT NOT NULL,
    claimed_until_us BIGINT,
    last_status BIGINT,
    last_error TEXT,
    delivered_at TEXT,
    PRIMARY KEY (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_us);
CREATE INDEX webhook_deliveries_chain ON webhook_deliveries (endpoint_id, chain, event_seq);

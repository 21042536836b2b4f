-- Keyed by person. A distributed PostgreSQL (Citus) spreads a table over machines by one column
-- and can enforce a primary or unique key only if the key includes that column. Every table of
-- one person's rows is keyed here so that its keys include subject_id (core::placement says which
-- tables those are, and a story checks every key of them); ids stay unique on their own, so
-- adding the person to a key loses no guarantee. The event and value tables, the big ones, are
-- hash-partitioned by subject_id: on one server the partitions are where the shards would be.

-- A request's code belongs to the request's person, and refers to the request by both.
ALTER TABLE request_codes ADD COLUMN subject_id UUID;
UPDATE request_codes c SET subject_id = r.subject_id FROM requests r WHERE r.id = c.request_id;
ALTER TABLE request_codes ALTER COLUMN subject_id SET NOT NULL;
ALTER TABLE request_codes DROP CONSTRAINT request_codes_request_id_fkey;
ALTER TABLE request_codes DROP CONSTRAINT request_codes_pkey;
ALTER TABLE request_codes ADD PRIMARY KEY (request_id, subject_id);
ALTER TABLE requests DROP CONSTRAINT requests_pkey;
ALTER TABLE requests ADD PRIMARY KEY (id, subject_id);
ALTER TABLE request_codes ADD FOREIGN KEY (request_id, subject_id) REFERENCES requests (id, subject_id);

-- Found by id or by token: the id first, so those look-ups keep their index.
ALTER TABLE records DROP CONSTRAINT records_pkey;
ALTER TABLE records ADD PRIMARY KEY (id, subject_id);
ALTER TABLE notices DROP CONSTRAINT notices_pkey;
ALTER TABLE notices ADD PRIMARY KEY (id, subject_id);
ALTER TABLE sessions DROP CONSTRAINT sessions_pkey;
ALTER TABLE sessions ADD PRIMARY KEY (token_digest, subject_id);
ALTER TABLE password_resets DROP CONSTRAINT password_resets_pkey;
ALTER TABLE password_resets ADD PRIMARY KEY (token_digest, subject_id);
ALTER TABLE downloads DROP CONSTRAINT downloads_pkey;
ALTER TABLE downloads ADD PRIMARY KEY (token_digest, subject_id);

-- Only ever read by person: the person's index becomes the key.
ALTER TABLE basis_events DROP CONSTRAINT basis_events_pkey;
ALTER TABLE basis_events ADD PRIMARY KEY (subject_id, id);
DROP INDEX basis_events_by_subject;
ALTER TABLE consent_events DROP CONSTRAINT consent_events_pkey;
ALTER TABLE consent_events ADD PRIMARY KEY (subject_id, id);
DROP INDEX consent_events_by_subject;

-- Events and values, hash-partitioned by person (columns in the order they had).
ALTER TABLE pd_events RENAME TO pd_events_before;
CREATE TABLE pd_events (
    id UUID NOT NULL,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    category TEXT NOT NULL,
    key_class TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    source TEXT NOT NULL,
    collected_at TEXT NOT NULL,
    record_id UUID,
    PRIMARY KEY (subject_id, id)
) PARTITION BY HASH (subject_id);

ALTER TABLE pd_values RENAME TO pd_values_before;
CREATE TABLE pd_values (
    subject_id UUID NOT NULL REFERENCES subjects (id),
    field TEXT NOT NULL,
    key_class TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    source TEXT NOT NULL,
    collected_at TEXT NOT NULL,
    PRIMARY KEY (subject_id, field)
) PARTITION BY HASH (subject_id);

DO $$
BEGIN
    FOR part IN 0..7 LOOP
        EXECUTE format(
            'CREATE TABLE pd_events_%s PARTITION OF pd_events FOR VALUES WITH (MODULUS 8, REMAINDER %s)',
            part, part);
        EXECUTE format(
            'CREATE TABLE pd_values_%s PARTITION OF pd_values FOR VALUES WITH (MODULUS 8, REMAINDER %s)',
            part, part);
    END LOOP;
END
$$;

INSERT INTO pd_events SELECT * FROM pd_events_before;
INSERT INTO pd_values SELECT * FROM pd_values_before;
DROP TABLE pd_events_before;
DROP TABLE pd_values_before;
-- A record's events, found within the person's partition when the record expires.
CREATE INDEX pd_events_by_record ON pd_events (subject_id, record_id);

-- No foreign key may cross between tables a spread store puts apart: the blind index is spread by
-- the digest it is looked up by, the outbox is one queue for everyone. A person's rows there
-- leave in the erasure's own transaction (story an_erased_person_leaves_no_row_in_any_table).
ALTER TABLE blind_index DROP CONSTRAINT blind_index_subject_id_fkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_subject_id_fkey;

-- Events by month of collection, then by person. A month whose every event fell due leaves by
-- dropping its partition (one statement, whatever its size) instead of row by row. The months
-- are the first level, as a distributed PostgreSQL (Citus) partitions a table it spreads by
-- person: there the shards replace the second level, hash by subject_id, which stands for them
-- on one server. A month is a partition once the sweep first meets it (it files each month
-- ahead, and any event that came before its month's partition waits in the default one until
-- then); `collected_at` is in the key, as PostgreSQL asks of a partitioned table's keys, and is
-- compared byte by byte ("C"), so the months' text bounds order as the times do.

-- What a dropped month took of each person, until the sweep writes it into their audit entry
-- and receipt and destroys the keys of classes it emptied.
CREATE TABLE expired_by_month (
    subject_id UUID NOT NULL REFERENCES subjects (id),
    month TEXT NOT NULL,
    category TEXT NOT NULL,
    key_class TEXT NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (subject_id, month, category, key_class)
);

ALTER TABLE pd_events RENAME TO pd_events_before;
ALTER INDEX pd_events_by_record RENAME TO pd_events_before_by_record;

CREATE TABLE pd_events (
    id UUID NOT NULL,
    subject_id UUID NOT NULL REFERENCES subjects (id),
    category TEXT NOT NULL,
    key_class TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    source TEXT NOT NULL,
    collected_at TEXT COLLATE "C" NOT NULL,
    record_id UUID,
    PRIMARY KEY (subject_id, id, collected_at)
) PARTITION BY RANGE (collected_at);

CREATE TABLE pd_events_default PARTITION OF pd_events DEFAULT PARTITION BY HASH (subject_id);
DO $$
BEGIN
    FOR part IN 0..7 LOOP
        EXECUTE format(
            'CREATE TABLE pd_events_default_%s PARTITION OF pd_events_default FOR VALUES WITH (MODULUS 8, REMAINDER %s)',
            part, part);
    END LOOP;
END
$$;

-- Make `month` ('YYYY-MM') a partition of its own, hash-partitioned by person; its events that
-- arrived first, in the default partition, move into it. Once made, a call does nothing.
CREATE FUNCTION vintrova_event_month(month TEXT) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    part TEXT;
    next TEXT;
BEGIN
    IF month !~ '^[0-9]{4}-[0-9]{2}$' THEN
        RAISE EXCEPTION 'not a month: %', month;
    END IF;
    part := 'pd_events_' || replace(month, '-', '_');
    IF to_regclass(part) IS NOT NULL THEN
        RETURN;
    END IF;
    next := to_char(to_date(month, 'YYYY-MM') + interval '1 month', 'YYYY-MM');
    CREATE TEMP TABLE filing (LIKE pd_events) ON COMMIT DROP;
    WITH moved AS (
        DELETE FROM pd_events_default WHERE collected_at >= month AND collected_at < next
        RETURNING *
    )
    INSERT INTO filing SELECT * FROM moved;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF pd_events FOR VALUES FROM (%L) TO (%L) PARTITION BY HASH (subject_id)',
        part, month, next);
    FOR h IN 0..7 LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF %I FOR VALUES WITH (MODULUS 8, REMAINDER %s)',
            part || '_' || h, part, h);
    END LOOP;
    INSERT INTO pd_events SELECT * FROM filing;
    DROP TABLE filing;
END
$$;

SELECT vintrova_event_month(month)
FROM (SELECT DISTINCT left(collected_at, 7) AS month FROM pd_events_before) AS months;
INSERT INTO pd_events SELECT * FROM pd_events_before;
DROP TABLE pd_events_before;
CREATE INDEX pd_events_by_record ON pd_events (subject_id, record_id);

-- Events by month of collection, then by person. A month whose every event fell due leaves by
-- truncating its partition (one statement, whatever its size) instead of row by row, and its
-- emptied tables are dropped by a later sweep. The months
-- are the first level, as a distributed PostgreSQL (Citus) partitions a table it spreads by
-- person: there the shards replace the second level, hash by subject_id, which stands for them
-- on one server. Each sweep makes the coming months' partitions ahead of their events; an event
-- for a month with no partition yet (backdated) waits in the default partition until the sweep
-- files its month, or, in a month too large to move while others write, leaves row by row.
-- `collected_at` is in the key, as PostgreSQL asks of a partitioned table's
-- keys, and compares byte by byte ("C"), so the months' text bounds order as the times do.

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

-- Make `month` ('YYYY-MM') a partition of its own, hash-partitioned by person; true once it
-- is one. Events of the month already waiting in the default partition move into it — unless
-- there are more than `most` of them (NULL: no limit), since a move holds the event table for as
-- long as it takes: then the month stays unfiled and its events leave row by row.
CREATE FUNCTION vintrova_event_month(month TEXT, most BIGINT) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
DECLARE
    part TEXT;
    next TEXT;
BEGIN
    IF month !~ '^[0-9]{4}-[0-9]{2}$' THEN
        RAISE EXCEPTION 'not a month: %', month;
    END IF;
    part := 'pd_events_' || replace(month, '-', '_');
    IF to_regclass(part) IS NOT NULL THEN
        RETURN TRUE;
    END IF;
    next := to_char(to_date(month, 'YYYY-MM') + interval '1 month', 'YYYY-MM');
    IF most IS NOT NULL AND (
        SELECT count(*) FROM (
            SELECT 1 FROM pd_events_default
            WHERE collected_at >= month AND collected_at < next LIMIT most + 1
        ) AS waiting
    ) > most THEN
        RETURN FALSE;
    END IF;
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
    RETURN TRUE;
END
$$;

-- Drop the partitions of months before `before` ('YYYY-MM') that hold no event — months the
-- sweep emptied (it empties a month by TRUNCATE, which locks the month alone) or that never
-- had one. Dropping a partition locks the person table its key refers to, so each drop waits
-- at most 20 ms for that lock and is otherwise left to the next sweep: no writer queues behind
-- it longer. How many went.
CREATE FUNCTION vintrova_drop_empty_months(before TEXT) RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    part TEXT;
    empty BOOLEAN;
    dropped INTEGER := 0;
    waited TEXT := current_setting('lock_timeout');
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass('pd_events')
          AND c.relname ~ '^pd_events_[0-9]{4}_[0-9]{2}$'
          AND replace(substr(c.relname, 11), '_', '-') < before
    LOOP
        EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I)', part) INTO empty;
        IF empty THEN
            BEGIN
                PERFORM set_config('lock_timeout', '20ms', true);
                EXECUTE format('DROP TABLE %I', part);
                PERFORM set_config('lock_timeout', waited, true);
                dropped := dropped + 1;
            EXCEPTION WHEN lock_not_available THEN
                NULL;
            END;
        END IF;
    END LOOP;
    RETURN dropped;
END
$$;

SELECT vintrova_event_month(month, NULL)
FROM (SELECT DISTINCT left(collected_at, 7) AS month FROM pd_events_before) AS months;
INSERT INTO pd_events SELECT * FROM pd_events_before;
DROP TABLE pd_events_before;
CREATE INDEX pd_events_by_record ON pd_events (subject_id, record_id);

-- Counts for the 10-second gauges (mappings by state, queue depth per target), kept by
-- triggers, so a gauge reads a few rows instead of a GROUP BY over every mapping and job:
-- at 1M mappings that GROUP BY was a parallel scan of ~90 ms on both cores, every 10 s, in
-- every replica, and every request in flight waited behind it.
--
-- The tables are append-only deltas: a trigger inserts the net change of a statement per key
-- and never updates a row, so concurrent writers share no row lock (no hot row, no deadlock
-- between two transactions touching the same keys in another order). A count is SUM(n) over
-- its key; `Store::compact_gauge_counts` folds the rows into one per key from time to time.
-- Triggers see every write, whatever code path (or bulk seed) made it.

-- Writers wait while the counts start: no write can fall between the backfill and the
-- triggers (old pods keep running during a rolling upgrade).
LOCK TABLE sync_mappings, sync_jobs IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE sync_mapping_counts (
    target TEXT   NOT NULL,
    state  TEXT   NOT NULL,
    n      BIGINT NOT NULL
);
INSERT INTO sync_mapping_counts (target, state, n)
SELECT target, state, count(*) FROM sync_mappings GROUP BY target, state;

CREATE FUNCTION sync_mapping_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_mapping_counts (target, state, n)
    SELECT target, state, count(*) FROM added GROUP BY target, state;
    RETURN NULL;
END $$;

CREATE FUNCTION sync_mapping_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_mapping_counts (target, state, n)
    SELECT target, state, sum(d) FROM (
        SELECT target, state, -1 AS d FROM before_rows
        UNION ALL
        SELECT target, state, 1 AS d FROM after_rows
    ) moved
    GROUP BY target, state HAVING sum(d) <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION sync_mapping_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_mapping_counts (target, state, n)
    SELECT target, state, -count(*) FROM removed GROUP BY target, state;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_mappings_counted_insert AFTER INSERT ON sync_mappings
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION sync_mapping_counts_added();
CREATE TRIGGER sync_mappings_counted_update AFTER UPDATE ON sync_mappings
    REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_mapping_counts_moved();
CREATE TRIGGER sync_mappings_counted_delete AFTER DELETE ON sync_mappings
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION sync_mapping_counts_removed();

-- Queue depth per target. A job's re-queue (INSERT ... ON CONFLICT DO UPDATE) is an update,
-- not an insert, and is not counted; claims and retries update and are not counted either.
CREATE TABLE sync_job_counts (
    target TEXT   NOT NULL,
    n      BIGINT NOT NULL
);
INSERT INTO sync_job_counts (target, n) SELECT target, count(*) FROM sync_jobs GROUP BY target;

CREATE FUNCTION sync_job_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_job_counts (target, n) SELECT target, count(*) FROM added GROUP BY target;
    RETURN NULL;
END $$;

CREATE FUNCTION sync_job_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_job_counts (target, n) SELECT target, -count(*) FROM removed GROUP BY target;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_jobs_counted_insert AFTER INSERT ON sync_jobs
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION sync_job_counts_added();
CREATE TRIGGER sync_jobs_counted_delete AFTER DELETE ON sync_jobs
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION sync_job_counts_removed();

-- The oldest waiting job of a target, for the queue-age gauge: one index probe per target.
CREATE INDEX sync_jobs_oldest ON sync_jobs (target, enqueued_at);

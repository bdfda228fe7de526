-- Counts for the 10-second gauges (mappings by state, queue depth per target), kept by
-- triggers so a gauge reads a few rows instead of counting every mapping and job (see the
-- Postgres migration). SQLite has one writer: one row per key, updated in place. A count
-- is SUM(n) over its key on both databases.
CREATE TABLE sync_mapping_counts (
    target TEXT    NOT NULL,
    state  TEXT    NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (target, state)
);
INSERT INTO sync_mapping_counts (target, state, n)
SELECT target, state, count(*) FROM sync_mappings WHERE true GROUP BY target, state;

CREATE TRIGGER sync_mappings_counted_insert AFTER INSERT ON sync_mappings
BEGIN
    INSERT INTO sync_mapping_counts (target, state, n) VALUES (NEW.target, NEW.state, 1)
    ON CONFLICT (target, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sync_mappings_counted_update AFTER UPDATE OF target, state ON sync_mappings
WHEN OLD.target IS NOT NEW.target OR OLD.state IS NOT NEW.state
BEGIN
    UPDATE sync_mapping_counts SET n = n - 1 WHERE target = OLD.target AND state = OLD.state;
    INSERT INTO sync_mapping_counts (target, state, n) VALUES (NEW.target, NEW.state, 1)
    ON CONFLICT (target, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sync_mappings_counted_delete AFTER DELETE ON sync_mappings
BEGIN
    UPDATE sync_mapping_counts SET n = n - 1 WHERE target = OLD.target AND state = OLD.state;
END;

CREATE TABLE sync_job_counts (
    target TEXT    NOT NULL PRIMARY KEY,
    n      INTEGER NOT NULL
);
INSERT INTO sync_job_counts (target, n) SELECT target, count(*) FROM sync_jobs WHERE true GROUP BY target;

CREATE TRIGGER sync_jobs_counted_insert AFTER INSERT ON sync_jobs
BEGIN
    INSERT INTO sync_job_counts (target, n) VALUES (NEW.target, 1)
    ON CONFLICT (target) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sync_jobs_counted_delete AFTER DELETE ON sync_jobs
BEGIN
    UPDATE sync_job_counts SET n = n - 1 WHERE target = OLD.target;
END;

CREATE INDEX sync_jobs_oldest ON sync_jobs (target, enqueued_at);

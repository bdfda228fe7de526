-- Due jobs per target, oldest first: a worker that must skip the targets already holding
-- their share of workers (`sync::share`) claims from the others with one index seek per
-- target. Through `sync_jobs_due` alone it walked every due job of the skipped targets
-- first: ~0.5 ms per claim at 5k queued jobs (4 µs by this index), growing with the queue
-- (docs/performance.md, round 27). `sync_jobs` is the queue, not the directory, so the
-- build is short; an older version runs unchanged with the extra index.
CREATE INDEX sync_jobs_target_due ON sync_jobs (target, run_after);

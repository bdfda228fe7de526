-- The rows of a PUT /Users/{id} as a transaction (src/store/resources.rs, replace_in: the
-- bridge's on SQLite, and its PUT and PATCH of users on Postgres until round 23; since then
-- they are one statement, bench/pgbench/put_one.sql): the resource row replaced and its
-- version bumped in one statement, the job upsert, the mapping marked pending, the history
-- event; one commit.
\set k random(1, :users)
BEGIN;
UPDATE scim_resources SET external_id = NULL, user_name_lc = 'seed' || :k || '@example.com', display_name_lc = 'seed user ' || :k,
  email_lc = 'seed' || :k || '@example.com', active = true, label = 'Seed User ' || :k,
  data = replace('{"schemas"#["urn#ietf#params#scim#schemas#core#2.0#User"],"userName"#"seed' || :k || '@example.com","name"#{"givenName"#"Seed","familyName"#"User' || :k || '"},"displayName"#"Seed User ' || :k || ' (pgbench)","emails"#[{"value"#"seed' || :k || '@example.com","type"#"work","primary"#true}],"active"#true}', '#', chr(58))::jsonb,
  version = version + 1, last_modified = '2026-01-01T00:00:00.000Z'
 WHERE target = 'contrast' AND resource_type = 'User' AND id = 'seed-' || :k RETURNING version, created;
INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at)
VALUES ('contrast', 'User', 'seed-' || :k, 1, 0, 0, 0)
ON CONFLICT (target, resource_type, resource_id) DO UPDATE SET generation = sync_jobs.generation + 1, run_after = 0, attempts = 0;
INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, state, attempts, updated_at, applied)
VALUES ('contrast', 'User', 'seed-' || :k, 'Seed User ' || :k, 'pending', 0, 0, '{}')
ON CONFLICT (target, resource_type, resource_id) DO UPDATE SET scim_key = COALESCE(excluded.scim_key, sync_mappings.scim_key), state = 'pending', attempts = 0, next_attempt = NULL, updated_at = 0;
INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
VALUES ('contrast', 'User', 'seed-' || :k, 0, 'scim', 'PUT', 'accepted from the IdP (version 2)');
COMMIT;

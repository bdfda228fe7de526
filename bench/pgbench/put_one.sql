-- The bridge's PUT and PATCH of a user on Postgres since round 24 (src/store/single_statement.rs,
-- REPLACE_USER_SQL): the rows of put.sql written by ONE statement of data-modifying CTEs in
-- autocommit (the version compared and bumped by the UPDATE; NULL: no If-Match).
\set k random(1, :users)
WITH r AS (
  UPDATE scim_resources SET external_id = NULL, user_name_lc = 'seed' || :k || '@example.com', display_name_lc = 'seed user ' || :k,
    email_lc = 'seed' || :k || '@example.com', active = true, label = 'Seed User ' || :k,
    data = replace('{"schemas"#["urn#ietf#params#scim#schemas#core#2.0#User"],"userName"#"seed' || :k || '@example.com","name"#{"givenName"#"Seed","familyName"#"User' || :k || '"},"displayName"#"Seed User ' || :k || ' (pgbench)","emails"#[{"value"#"seed' || :k || '@example.com","type"#"work","primary"#true}],"active"#true}', '#', chr(58))::jsonb,
    version = version + 1, last_modified = '2026-01-01T00:00:00.000Z'
  WHERE target = 'contrast' AND resource_type = 'User' AND id = 'seed-' || :k AND (NULL::int8 IS NULL OR version = NULL::int8)
  RETURNING target, resource_type, id, version, created
), j AS (
  INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at)
  SELECT target, resource_type, id, 1, 0, 0, 0 FROM r
  ON CONFLICT (target, resource_type, resource_id) DO UPDATE SET generation = sync_jobs.generation + 1, run_after = excluded.run_after, attempts = 0
), m AS (
  INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, state, attempts, updated_at, applied)
  SELECT target, resource_type, id, 'Seed User ' || :k, 'pending', 0, 0, '{}' FROM r
  ON CONFLICT (target, resource_type, resource_id) DO UPDATE SET scim_key = COALESCE(excluded.scim_key, sync_mappings.scim_key), state = 'pending',
    attempts = 0, next_attempt = NULL, updated_at = excluded.updated_at
), h AS (
  INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
  SELECT target, resource_type, id, 0, 'scim', 'PUT', 'accepted from the IdP (version ' || version || ')' FROM r
)
SELECT version, created FROM r;

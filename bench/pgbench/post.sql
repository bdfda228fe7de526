-- The issue's reference shape for POST /Users: insert a resource row with its JSON and a
-- job row, one commit. (The bridge also upserts the mapping and appends history: see
-- post_full.sql.) pgbench would read `:name` inside the JSON as a variable, hence the
-- `#` -> ':' replace. Random ids; a rare collision is skipped by ON CONFLICT DO NOTHING.
\set n random(1, 1000000000)
BEGIN;
INSERT INTO scim_resources (target, resource_type, id, external_id, user_name_lc, display_name_lc, email_lc, active, label, data, version, created, last_modified)
VALUES ('pgbench', 'User', 'pgb-' || :client_id || '-' || :n, NULL, 'pgb-' || :client_id || '-' || :n, 'bench user', 'pgb@example.com', true, 'Bench User',
  replace('{"schemas"#["urn#ietf#params#scim#schemas#core#2.0#User"],"userName"#"pgb@example.com","name"#{"givenName"#"Bench","familyName"#"User"},"displayName"#"Bench User","emails"#[{"value"#"pgb@example.com","type"#"work","primary"#true}],"active"#true}', '#', chr(58))::jsonb,
  1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z') ON CONFLICT DO NOTHING;
INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at)
VALUES ('pgbench', 'User', 'pgb-' || :client_id || '-' || :n, 1, 0, 0, 0)
ON CONFLICT (target, resource_type, resource_id) DO UPDATE SET generation = sync_jobs.generation + 1, run_after = 0, attempts = 0;
COMMIT;

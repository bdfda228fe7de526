-- Exactly the bridge's create transaction: resource + job upsert + mapping upsert + history.
\set n random(1, 1000000000)
BEGIN;
INSERT INTO scim_resources (target, resource_type, id, external_id, user_name_lc, display_name_lc, email_lc, active, label, data, version, created, last_modified)
VALUES ('pgbench', 'User', 'pgf-' || :client_id || '-' || :n, NULL, 'pgf-' || :client_id || '-' || :n, 'bench user', 'pgb@example.com', true, 'Bench User',
  replace('{"schemas"#["urn#ietf#params#scim#schemas#core#2.0#User"],"userName"#"pgb@example.com","name"#{"givenName"#"Bench","familyName"#"User"},"displayName"#"Bench User","emails"#[{"value"#"pgb@example.com","type"#"work","primary"#true}],"active"#true}', '#', chr(58))::jsonb,
  1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z') ON CONFLICT DO NOTHING;
INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at)
VALUES ('pgbench', 'User', 'pgf-' || :client_id || '-' || :n, 1, 0, 0, 0)
ON CONFLICT (target, resource_type, resource_id) DO UPDATE SET generation = sync_jobs.generation + 1, run_after = 0, attempts = 0;
INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, state, attempts, updated_at, applied)
VALUES ('pgbench', 'User', 'pgf-' || :client_id || '-' || :n, 'Bench User', 'pending', 0, 0, '{}')
ON CONFLICT (target, resource_type, resource_id) DO UPDATE SET scim_key = COALESCE(excluded.scim_key, sync_mappings.scim_key), state = 'pending', attempts = 0, next_attempt = NULL, updated_at = 0;
INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
VALUES ('pgbench', 'User', 'pgf-' || :client_id || '-' || :n, 0, 'scim', 'POST', 'accepted from the IdP (version 1)');
COMMIT;

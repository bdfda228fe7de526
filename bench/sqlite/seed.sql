-- SQLite version of pgbench/seed.sql (same rows); run.sh replaces USERS.
BEGIN;
INSERT INTO scim_resources (target, resource_type, id, external_id, user_name_lc, display_name_lc, email_lc, active, label, data, version, created, last_modified)
SELECT 'contrast', 'User', 'seed-' || g, NULL, 'seed' || g || '@example.com', 'seed user ' || g, 'seed' || g || '@example.com', 1, 'Seed User ' || g,
  json_object('schemas', json_array('urn:ietf:params:scim:schemas:core:2.0:User'),
    'userName', 'seed' || g || '@example.com',
    'name', json_object('givenName', 'Seed', 'familyName', 'User' || g),
    'displayName', 'Seed User ' || g,
    'emails', json_array(json_object('value', 'seed' || g || '@example.com', 'type', 'work', 'primary', json('true'))),
    'active', json('true')),
  1, strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (g / 1000.0) || ' seconds'),
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (g / 1000.0) || ' seconds')
FROM (SELECT value AS g FROM generate_series(1, USERS));
INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, vendor_id, state, attempts, last_synced, updated_at, applied)
SELECT 'contrast', 'User', 'seed-' || g, 'Seed User ' || g, 'v' || g, 'synced', 0, 0, 0, '{}' FROM (SELECT value AS g FROM generate_series(1, USERS));
INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
SELECT 'contrast', 'User', 'seed-' || g, 0, 'scim', 'POST', 'accepted from the IdP (version 1)' FROM (SELECT value AS g FROM generate_series(1, USERS));
COMMIT;
ANALYZE;

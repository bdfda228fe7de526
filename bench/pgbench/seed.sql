-- Seeds :users users into target 'contrast' in the shape the store writes (resource row,
-- a synced mapping, one history event; no job: a synced user has none). Ids and userNames
-- are seed<k> / seed<k>@example.com; created increases with k so paging order is stable.
INSERT INTO scim_resources (target, resource_type, id, external_id, user_name_lc, display_name_lc, email_lc, active, label, data, version, created, last_modified)
SELECT 'contrast', 'User', 'seed-' || g, NULL, 'seed' || g || '@example.com', 'seed user ' || g, 'seed' || g || '@example.com', true, 'Seed User ' || g,
  jsonb_build_object('schemas', jsonb_build_array('urn:ietf:params:scim:schemas:core:2.0:User'),
    'userName', 'seed' || g || '@example.com',
    'name', jsonb_build_object('givenName', 'Seed', 'familyName', 'User' || g),
    'displayName', 'Seed User ' || g,
    'emails', jsonb_build_array(jsonb_build_object('value', 'seed' || g || '@example.com', 'type', 'work', 'primary', true)),
    'active', true),
  1, to_char(timestamp '2026-01-01' + g * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  to_char(timestamp '2026-01-01' + g * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
FROM generate_series(1, :users) g;
INSERT INTO sync_mappings (target, resource_type, resource_id, scim_key, vendor_id, state, attempts, last_synced, updated_at, applied)
SELECT 'contrast', 'User', 'seed-' || g, 'Seed User ' || g, 'v' || g, 'synced', 0, 0, 0, '{}' FROM generate_series(1, :users) g;
INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, message)
SELECT 'contrast', 'User', 'seed-' || g, 0, 'scim', 'POST', 'accepted from the IdP (version 1)' FROM generate_series(1, :users) g;
VACUUM ANALYZE;

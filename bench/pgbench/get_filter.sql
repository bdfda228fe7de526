-- The indexed select behind GET /Users?filter=userName eq "…" (one row by the unique
-- (target, user_name_lc) index).
\set k random(1, :users)
SELECT r.id, r.resource_type, r.data, r.version, r.created, r.last_modified FROM scim_resources r
 WHERE r.target = 'contrast' AND r.resource_type = 'User' AND r.user_name_lc = 'seed' || :k || '@example.com';

-- The page select behind GET /Users?startIndex=s&count=100 (no COUNT(*)).
\set s random(0, :users - 100)
SELECT r.id, r.resource_type, r.data, r.version, r.created, r.last_modified FROM scim_resources r
 WHERE r.target = 'contrast' AND r.resource_type = 'User' ORDER BY r.created ASC, r.id ASC LIMIT 100 OFFSET :s;

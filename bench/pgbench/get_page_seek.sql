-- The page select behind a walk's next page (GET /Users?startIndex=s&count=100 after the
-- page ending at s-1): seek past the previous page's last seq, no positioning.
\set k random(1, :users - 100)
SELECT r.id, r.resource_type, r.data, r.version, r.created, r.last_modified, r.seq FROM scim_resources r
 WHERE r.target = 'contrast' AND r.resource_type = 'User'
   AND r.seq > (SELECT seq FROM scim_resources WHERE target = 'contrast' AND id = 'seed-' || :k)
 ORDER BY r.seq ASC LIMIT 100;

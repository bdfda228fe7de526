-- The page select behind GET /Users?startIndex=s&count=100 with no walk to continue (no
-- COUNT(*)): the block counts name the block holding position s, the seq index skips the
-- rows of that block before it (src/store/page_position.rs).
\set s random(0, :users - 100)
WITH page_blocks AS (SELECT block, SUM(n) AS n, SUM(SUM(n)) OVER (ORDER BY block) AS upto
       FROM scim_resource_counts WHERE target = 'contrast' AND resource_type = 'User' GROUP BY block),
     page_start AS (SELECT block, CAST(:s - (upto - n) AS BIGINT) AS skip FROM page_blocks
       WHERE upto > :s ORDER BY block LIMIT 1)
SELECT r.id, r.resource_type, r.data, r.version, r.created, r.last_modified, r.seq FROM scim_resources r
 WHERE r.target = 'contrast' AND r.resource_type = 'User'
   AND r.seq >= (SELECT s.seq FROM scim_resources s WHERE s.target = 'contrast' AND s.resource_type = 'User'
                   AND s.seq >= ((SELECT block FROM page_start) << 13) ORDER BY s.seq LIMIT 1 OFFSET (SELECT skip FROM page_start))
 ORDER BY r.seq ASC LIMIT 100;

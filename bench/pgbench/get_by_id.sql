-- The select behind GET /Users/{id}: one row by the primary key (target, id), with the
-- user's groups in the same query (src/store/resource_reads.rs, links_column).
\set k random(1, :users)
SELECT r.id, r.resource_type, r.data, r.version, r.created, r.last_modified,
  (SELECT json_agg(json_build_array(gm.group_id, o.label) ORDER BY gm.group_id)::text
     FROM scim_group_members gm JOIN scim_resources o ON o.target = gm.target AND o.id = gm.group_id
    WHERE gm.target = r.target AND gm.member_id = r.id) AS links
  FROM scim_resources r
 WHERE r.target = 'contrast' AND r.resource_type = 'User' AND r.id = 'seed-' || :k;

-- Paging by position without reading every row before it.
--
-- 1. The default list order becomes `seq`, a number the database gives each resource when it
--    is inserted (existing resources are numbered in their old order, `created, id`, so no
--    page moves). Updates keep it.
-- 2. The trigger-kept counts (0002) are now kept per block of 8192 consecutive `seq` values
--    (still 16 slots per block, so concurrent creates seldom wait on one row). Their sum is
--    still the exact total; a running sum over blocks says which block holds position k and
--    how many of its rows come before k, so `startIndex=k` skips at most one block's rows
--    (index-only) instead of k. Counts and rows are read by one statement, one snapshot, so
--    the position is exact.
ALTER TABLE scim_resources ADD COLUMN seq BIGINT;
UPDATE scim_resources r SET seq = o.n
  FROM (SELECT target, id, row_number() OVER (ORDER BY created, id) AS n FROM scim_resources) o
 WHERE r.target = o.target AND r.id = o.id;
CREATE SEQUENCE scim_resources_seq OWNED BY scim_resources.seq;
SELECT setval('scim_resources_seq', COALESCE((SELECT max(seq) FROM scim_resources), 0) + 1, false);
ALTER TABLE scim_resources
    ALTER COLUMN seq SET DEFAULT nextval('scim_resources_seq'),
    ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX scim_resources_type_seq ON scim_resources (target, resource_type, seq);

ALTER TABLE scim_resource_counts ADD COLUMN block BIGINT NOT NULL DEFAULT 0;
ALTER TABLE scim_resource_counts DROP CONSTRAINT scim_resource_counts_pkey;
ALTER TABLE scim_resource_counts ADD PRIMARY KEY (target, resource_type, block, slot);
DELETE FROM scim_resource_counts;
INSERT INTO scim_resource_counts (target, resource_type, block, slot, n)
SELECT target, resource_type, seq >> 13, 0, count(*) FROM scim_resources GROUP BY 1, 2, 3;

CREATE OR REPLACE FUNCTION scim_resource_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scim_resource_counts AS c (target, resource_type, block, slot, n)
    SELECT target, resource_type, seq >> 13, floor(random() * 16)::int, count(*) FROM added GROUP BY 1, 2, 3
    ON CONFLICT (target, resource_type, block, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION scim_resource_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scim_resource_counts AS c (target, resource_type, block, slot, n)
    SELECT target, resource_type, seq >> 13, floor(random() * 16)::int, -count(*) FROM removed GROUP BY 1, 2, 3
    ON CONFLICT (target, resource_type, block, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;

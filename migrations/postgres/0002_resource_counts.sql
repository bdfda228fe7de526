-- Exact resource counts per target and type, kept by triggers, so an unfiltered list's
-- totalResults is a sum of at most 16 rows instead of COUNT(*) over every resource.
-- Concurrent creates update one of 16 slots at random (a single row would serialise them);
-- a slot may go negative, the sum is exact. Triggers see every insert and delete, whatever
-- code path (or bulk seed) made it.
CREATE TABLE scim_resource_counts (
    target        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    slot          INTEGER NOT NULL,
    n             BIGINT  NOT NULL,
    PRIMARY KEY (target, resource_type, slot)
);

INSERT INTO scim_resource_counts (target, resource_type, slot, n)
SELECT target, resource_type, 0, count(*) FROM scim_resources GROUP BY target, resource_type;

CREATE FUNCTION scim_resource_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scim_resource_counts AS c (target, resource_type, slot, n)
    SELECT target, resource_type, floor(random() * 16)::int, count(*) FROM added GROUP BY target, resource_type
    ON CONFLICT (target, resource_type, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;

CREATE FUNCTION scim_resource_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scim_resource_counts AS c (target, resource_type, slot, n)
    SELECT target, resource_type, floor(random() * 16)::int, -count(*) FROM removed GROUP BY target, resource_type
    ON CONFLICT (target, resource_type, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;

CREATE TRIGGER scim_resources_counted_insert AFTER INSERT ON scim_resources
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION scim_resource_counts_added();
CREATE TRIGGER scim_resources_counted_delete AFTER DELETE ON scim_resources
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION scim_resource_counts_removed();

-- Exact resource counts per target and type, kept by triggers (see the Postgres migration;
-- SQLite has one writer, so one slot is enough).
CREATE TABLE scim_resource_counts (
    target        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    slot          INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (target, resource_type, slot)
);

INSERT INTO scim_resource_counts (target, resource_type, slot, n)
SELECT target, resource_type, 0, count(*) FROM scim_resources GROUP BY target, resource_type;

CREATE TRIGGER scim_resources_counted_insert AFTER INSERT ON scim_resources
BEGIN
    INSERT INTO scim_resource_counts (target, resource_type, slot, n) VALUES (NEW.target, NEW.resource_type, 0, 1)
    ON CONFLICT (target, resource_type, slot) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER scim_resources_counted_delete AFTER DELETE ON scim_resources
BEGIN
    INSERT INTO scim_resource_counts (target, resource_type, slot, n) VALUES (OLD.target, OLD.resource_type, 0, -1)
    ON CONFLICT (target, resource_type, slot) DO UPDATE SET n = n - 1;
END;

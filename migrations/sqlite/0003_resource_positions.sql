-- The default list order becomes `seq`, a number each resource gets when it is inserted
-- (see the Postgres migration). Existing resources are numbered in their old order
-- (`created, id`). SQLite has no sequences: a one-row counter, advanced by a trigger that
-- numbers the new row (SQLite has one writer, so the counter is never raced). SQLite keeps
-- one count per target and type; its deep pages still skip rows in the `seq` index.
ALTER TABLE scim_resources ADD COLUMN seq INTEGER;
UPDATE scim_resources SET seq = o.n
  FROM (SELECT rowid AS rid, row_number() OVER (ORDER BY created, id) AS n FROM scim_resources) o
 WHERE scim_resources.rowid = o.rid;
CREATE TABLE scim_resource_seq (one INTEGER PRIMARY KEY CHECK (one = 1), last INTEGER NOT NULL);
INSERT INTO scim_resource_seq (one, last) SELECT 1, COALESCE(MAX(seq), 0) FROM scim_resources;
CREATE UNIQUE INDEX scim_resources_type_seq ON scim_resources (target, resource_type, seq);

CREATE TRIGGER scim_resources_numbered AFTER INSERT ON scim_resources WHEN NEW.seq IS NULL
BEGIN
    UPDATE scim_resource_seq SET last = last + 1 WHERE one = 1;
    UPDATE scim_resources SET seq = (SELECT last FROM scim_resource_seq WHERE one = 1)
     WHERE rowid = NEW.rowid;
END;

-- SCIM resources: the desired state the IdP pushed. `data` is the SCIM JSON without `id` and `meta`,
-- without `groups` on users and without `members` on groups: membership lives only in scim_group_members.
CREATE TABLE scim_resources (
    target          TEXT    NOT NULL,
    resource_type   TEXT    NOT NULL CHECK (resource_type IN ('User', 'Group')),
    id              TEXT    NOT NULL,
    external_id     TEXT,
    user_name_lc    TEXT,   -- users: lowercase userName (unique per target)
    display_name_lc TEXT,   -- groups: lowercase displayName (unique per target); users: lowercase displayName
    email_lc        TEXT,   -- users: lowercase primary email, else userName (enrichment join key)
    label           TEXT,   -- original-case display: users displayName else userName; groups displayName
    active          BOOLEAN,
    data            JSONB   NOT NULL,
    version         BIGINT  NOT NULL,
    created         TEXT    NOT NULL,  -- RFC 3339 UTC with milliseconds, sorts lexically
    last_modified   TEXT    NOT NULL,
    PRIMARY KEY (target, id)
);
CREATE UNIQUE INDEX scim_resources_user_name ON scim_resources (target, user_name_lc) WHERE resource_type = 'User';
CREATE UNIQUE INDEX scim_resources_group_name ON scim_resources (target, display_name_lc) WHERE resource_type = 'Group';
CREATE INDEX scim_resources_external_id ON scim_resources (target, resource_type, external_id);
CREATE INDEX scim_resources_email ON scim_resources (target, resource_type, email_lc);
CREATE INDEX scim_resources_type_created ON scim_resources (target, resource_type, created, id);

CREATE TABLE scim_group_members (
    target    TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    display   TEXT,   -- members[].display as the client sent it
    PRIMARY KEY (target, group_id, member_id)
);
CREATE INDEX scim_group_members_member ON scim_group_members (target, member_id);

-- The outbox: at most one job per resource (writes coalesce); level-triggered.
CREATE TABLE sync_jobs (
    target        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    generation    BIGINT  NOT NULL DEFAULT 1,   -- bumped by every new write; a worker deletes only the generation it ran
    run_after     BIGINT  NOT NULL,             -- epoch ms
    attempts      INTEGER NOT NULL DEFAULT 0,
    enqueued_at   BIGINT  NOT NULL,             -- epoch ms of the oldest unserved write
    locked_by     TEXT,
    locked_until  BIGINT,
    PRIMARY KEY (target, resource_type, resource_id)
);
CREATE INDEX sync_jobs_due ON sync_jobs (run_after);

-- The mapping table: which vendor object each SCIM resource is and how its sync stands.
CREATE TABLE sync_mappings (
    target        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    scim_key      TEXT,             -- userName / displayName (kept after a SCIM delete)
    vendor_id     TEXT,
    vendor_key    TEXT,
    vendor_status TEXT,
    state         TEXT    NOT NULL,
    last_error    TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  BIGINT,
    last_synced   BIGINT,
    updated_at    BIGINT  NOT NULL,
    applied       TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (target, resource_type, resource_id)
);
CREATE INDEX sync_mappings_state ON sync_mappings (target, state);
CREATE INDEX sync_mappings_vendor ON sync_mappings (target, vendor_id);
CREATE INDEX sync_mappings_key ON sync_mappings (target, scim_key);

-- Append-only history of what happened to each resource.
CREATE TABLE sync_history (
    id            BIGSERIAL PRIMARY KEY,
    target        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    at            BIGINT  NOT NULL,
    kind          TEXT    NOT NULL,  -- scim | call | outcome | admin
    method        TEXT,
    path          TEXT,
    status        INTEGER,
    message       TEXT
);
CREATE INDEX sync_history_resource ON sync_history (target, resource_id, id);

-- Abnormal Security enrichment cache, shared by replicas, kept across restarts.
CREATE TABLE enrichment_accounts (
    source            TEXT NOT NULL,   -- the abnormal target's name
    email_lc          TEXT NOT NULL,
    risk_score        TEXT,
    risk_level        TEXT,
    compromised_since TEXT,
    is_vip            BOOLEAN,
    department        TEXT,
    title             TEXT,
    is_active         BOOLEAN,
    open_case_count   INTEGER,
    cases             TEXT,            -- JSON array of {caseId, severity, status}
    last_refreshed    TEXT,            -- RFC 3339
    fingerprint       TEXT,
    PRIMARY KEY (source, email_lc)
);

CREATE TABLE enrichment_status (
    source         TEXT PRIMARY KEY,
    last_sweep     TEXT,
    last_error     TEXT,
    updated_at     BIGINT NOT NULL
);

-- TVMS database schema: one file for SQLite and PostgreSQL, applied by `tvms migrate`.
-- Blocks run in order, each once, each in one transaction (recorded in schema_version).
-- Conventions: text ids; times are epoch milliseconds (UTC) in *_at BIGINT columns;
-- enums are TEXT with CHECK constraints; free-form JSON is TEXT.

-- migration: 1
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);

-- migration: 2
-- Users, session revocation, login lockout and the audit log (owner: auth engineer).
-- email is stored lower-case, so UNIQUE makes it unique case-insensitively. token_version is
-- bumped on password change, role change, disable and logout-everywhere: tokens carry it (`ver`)
-- and every process compares it with this row. Lockout is counted per e-mail address (also
-- unknown ones, so a locked answer does not reveal that an account exists); `pending` counts
-- checks in progress so that concurrent guesses cannot exceed the limit.
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('ADMIN', 'OPERATOR', 'VIEWER')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    token_version INTEGER NOT NULL DEFAULT 0,
    password_changed_at BIGINT NOT NULL,
    last_login_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS users_role ON users (role);
CREATE INDEX IF NOT EXISTS users_created_at ON users (created_at);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS revoked_tokens_expires_at ON revoked_tokens (expires_at);
CREATE TABLE IF NOT EXISTS login_attempts (
    email TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    pending INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_updated_at ON login_attempts (updated_at);
-- Append-only: no procedure updates or deletes rows. actor_id has no foreign key so entries
-- outlive the users and devices they name.
CREATE TABLE IF NOT EXISTS audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_kind TEXT CHECK (actor_kind IN ('user', 'device')),
    actor_id TEXT,
    actor_role TEXT,
    procedure TEXT NOT NULL,
    target_id TEXT,
    outcome TEXT NOT NULL,
    request_id TEXT,
    client_ip TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor_id, at);
CREATE INDEX IF NOT EXISTS audit_log_procedure ON audit_log (procedure, at);

-- migration: 3
-- Sensors, locations, device keys and status history (owner: sensors engineer).
-- Sensors are soft-deleted (deleted_at): events keep pointing at the sensor that produced them
-- (events.sensor_id has no ON DELETE action), and keys stay on record as revoked. device_id is
-- unique among live sensors, so a decommissioned unit's id can be reused.
CREATE TABLE IF NOT EXISTS locations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('INTERSECTION', 'HIGHWAY', 'CHECKPOINT', 'PARKING', 'ZONE', 'CUSTOM')),
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE', 'MAINTENANCE')),
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS locations_name_idx ON locations (name, id);
CREATE INDEX IF NOT EXISTS locations_type_idx ON locations (type, id);
CREATE INDEX IF NOT EXISTS locations_status_idx ON locations (status, id);
CREATE INDEX IF NOT EXISTS locations_created_idx ON locations (created_at, id);

CREATE TABLE IF NOT EXISTS sensors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    device_id TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('CAMERA', 'RADAR', 'ANPR', 'SPEED_DETECTOR', 'EDGE_CONTROLLER', 'NVR')),
    status TEXT NOT NULL DEFAULT 'OFFLINE' CHECK (status IN ('ONLINE', 'OFFLINE', 'MAINTENANCE', 'ERROR')),
    ip_address TEXT,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    address TEXT,
    location_id TEXT REFERENCES locations (id) ON DELETE SET NULL,
    parent_sensor_id TEXT REFERENCES sensors (id) ON DELETE SET NULL,
    firmware_version TEXT,
    last_heartbeat_at BIGINT,
    last_event_at BIGINT,
    heartbeat_timeout_s INTEGER NOT NULL DEFAULT 180 CHECK (heartbeat_timeout_s > 0),
    uptime_s BIGINT,
    cpu_pct DOUBLE PRECISION,
    disk_used_bytes BIGINT,
    disk_total_bytes BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX IF NOT EXISTS sensors_device_id_live_uq ON sensors (device_id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS sensors_name_idx ON sensors (name, id);
CREATE INDEX IF NOT EXISTS sensors_type_idx ON sensors (type, id);
CREATE INDEX IF NOT EXISTS sensors_status_idx ON sensors (status, id);
CREATE INDEX IF NOT EXISTS sensors_created_idx ON sensors (created_at, id);
-- An expression, not (last_heartbeat_at, id): "never heard" sorts first ascending and last
-- descending on both engines, and PostgreSQL (NULLs last ascending) could not walk that index.
CREATE INDEX IF NOT EXISTS sensors_heartbeat_idx ON sensors ((COALESCE(last_heartbeat_at, -1)), id);
CREATE INDEX IF NOT EXISTS sensors_location_idx ON sensors (location_id);
CREATE INDEX IF NOT EXISTS sensors_parent_idx ON sensors (parent_sensor_id);
-- sensors.getAll's unfiltered total on SQLite = COUNT(*) of the table (a btree count) minus this
-- range of soft-deleted rows, instead of walking every live row.
CREATE INDEX IF NOT EXISTS sensors_deleted_idx ON sensors (deleted_at) WHERE deleted_at IS NOT NULL;
-- Search counts scan this narrow covering index instead of the table (deleted_at is listed so
-- that SQLite sees the index as covering; it is always NULL here).
CREATE INDEX IF NOT EXISTS sensors_live_search_idx ON sensors (name, device_id, deleted_at)
    WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS device_keys (
    id TEXT PRIMARY KEY,
    sensor_id TEXT NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX IF NOT EXISTS device_keys_sensor_idx ON device_keys (sensor_id);
CREATE INDEX IF NOT EXISTS device_keys_prefix_idx ON device_keys (prefix);
-- At most one live key per sensor: rotation revokes the old key in the same transaction.
CREATE UNIQUE INDEX IF NOT EXISTS device_keys_live_uq ON device_keys (sensor_id) WHERE revoked_at IS NULL;

CREATE TABLE IF NOT EXISTS sensor_status_changes (
    id TEXT PRIMARY KEY,
    sensor_id TEXT NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
    from_status TEXT,
    to_status TEXT NOT NULL,
    at BIGINT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sensor_status_changes_sensor_idx ON sensor_status_changes (sensor_id, at);
CREATE INDEX IF NOT EXISTS sensor_status_changes_at_idx ON sensor_status_changes (at);

-- migration: 4
-- Traffic events, evidence files and violation reviews (owner: events engineer).
-- (sensor_id, external_id) is the device's idempotency key: a retried ingest never makes a second
-- row. plate is the device's read and never changes; a reviewer's correction goes to
-- corrected_plate. review_status is NULL for observations and PENDING → CONFIRMED | REJECTED for
-- violations. Keyset pagination walks (occurred_at, id) newest first, hence the index pairs.
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    sensor_id TEXT NOT NULL REFERENCES sensors (id),
    external_id TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('ANPR_READ', 'SPEEDING', 'RED_LIGHT', 'WRONG_WAY',
        'ILLEGAL_PARKING', 'LANE_VIOLATION', 'NO_HELMET', 'NO_SEATBELT', 'MOBILE_PHONE',
        'STOPPED_VEHICLE', 'ACCIDENT', 'CONGESTION', 'TRAFFIC_COUNT', 'CAMERA_TAMPER', 'VIDEO_LOSS')),
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    location_id TEXT REFERENCES locations (id) ON DELETE SET NULL,
    plate TEXT,
    corrected_plate TEXT,
    plate_confidence DOUBLE PRECISION,
    speed_kmh DOUBLE PRECISION,
    speed_limit_kmh DOUBLE PRECISION,
    lane INTEGER,
    direction TEXT,
    vehicle_class TEXT,
    confidence DOUBLE PRECISION,
    attributes TEXT,
    is_violation BOOLEAN NOT NULL,
    review_status TEXT CHECK (review_status IN ('PENDING', 'CONFIRMED', 'REJECTED')),
    reviewed_at BIGINT,
    reviewed_by TEXT,
    UNIQUE (sensor_id, external_id)
);
CREATE INDEX IF NOT EXISTS events_occurred_idx ON events (occurred_at, id);
CREATE INDEX IF NOT EXISTS events_sensor_occurred_idx ON events (sensor_id, occurred_at, id);
CREATE INDEX IF NOT EXISTS events_location_occurred_idx ON events (location_id, occurred_at, id);
-- getAll by location + types reads each type's newest rows from here (one seek per type)
-- instead of walking the location's whole history for a rare type.
CREATE INDEX IF NOT EXISTS events_location_type_occurred_idx ON events (location_id, type, occurred_at, id);
CREATE INDEX IF NOT EXISTS events_type_occurred_idx ON events (type, occurred_at, id);
CREATE INDEX IF NOT EXISTS events_plate_occurred_idx ON events (plate, occurred_at, id);
CREATE INDEX IF NOT EXISTS events_corrected_plate_idx ON events (corrected_plate, occurred_at, id)
    WHERE corrected_plate IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_review_occurred_idx ON events (review_status, occurred_at, id)
    WHERE review_status IS NOT NULL;

-- One evidence item per (event, kind); the object key follows the documented layout. An item
-- whose upload does not match the announced size and SHA-256 is QUARANTINED: the object is kept
-- for inspection but never served as evidence.
CREATE TABLE IF NOT EXISTS evidence (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('OVERVIEW_IMAGE', 'PLATE_CROP', 'VEHICLE_CROP', 'VIDEO_CLIP',
        'METADATA_JSON')),
    object_key TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size >= 0),
    sha256 TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('PENDING_UPLOAD', 'VERIFIED', 'QUARANTINED')),
    received_size BIGINT,
    received_sha256 TEXT,
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    UNIQUE (event_id, kind)
);

-- Every review decision, append-only: the event's history.
CREATE TABLE IF NOT EXISTS event_reviews (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    decision TEXT NOT NULL CHECK (decision IN ('CONFIRM', 'REJECT')),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    reason TEXT,
    comment TEXT,
    original_plate TEXT,
    corrected_plate TEXT,
    reviewer_id TEXT NOT NULL,
    reviewed_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_reviews_event_idx ON event_reviews (event_id, reviewed_at);

-- migration: 5
-- Generated reports and the indexes analytics need (owner: reports engineer).
-- A report is a background job: QUEUED -> RUNNING -> READY | FAILED. A RUNNING job holds a
-- lease (lease_owner, lease_until) that its worker renews; a job whose lease ran out was
-- interrupted (restart, crash) and is queued again, or FAILED after max attempts.
-- created_by has no foreign key: reports outlive the users that ordered them, like audit rows.
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL CHECK (type IN ('VIOLATIONS_SUMMARY', 'TRAFFIC_VOLUME', 'SENSOR_UPTIME', 'EVENTS_EXPORT')),
    format TEXT NOT NULL CHECK (format IN ('CSV', 'JSON', 'PDF')),
    status TEXT NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'READY', 'FAILED')),
    progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    period_from BIGINT NOT NULL,
    period_to BIGINT NOT NULL,
    timezone TEXT NOT NULL,
    first_day_of_week INTEGER NOT NULL DEFAULT 1,
    filters TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    file_key TEXT,
    size_bytes BIGINT,
    row_count BIGINT,
    error TEXT,
    CHECK (period_to > period_from)
);
CREATE INDEX IF NOT EXISTS reports_created_by_idx ON reports (created_by, status);
CREATE INDEX IF NOT EXISTS reports_status_idx ON reports (status, created_at);
CREATE INDEX IF NOT EXISTS reports_created_idx ON reports (created_at, id);
-- Violation statistics read only these columns: a partial covering index lets both engines
-- answer them from the index alone (violations are a fraction of all events).
CREATE INDEX IF NOT EXISTS events_violation_stats_idx ON events (occurred_at, type, location_id, review_status)
    WHERE is_violation;

-- migration: 6
-- engine: sqlite
-- sensors.getAll search on SQLite (owner: sensors engineer): a trigram FTS5 index of the live
-- sensors' name and device_id, lowered with lower() (ASCII only without ICU, exactly the case
-- folding of LIKE) and indexed case-sensitively. A quoted phrase of >= 3 characters, lowered the
-- same way, then matches exactly the rows the LIKE matches, so the exact total counts index
-- entries instead of scanning every live row. 1-2 character searches still scan.
-- The FTS rowid comes from sensors_search_keys (an INTEGER PRIMARY KEY, stable across VACUUM,
-- unlike the implicit rowid of sensors) so that the triggers reach a sensor's entry directly.
-- Trigger bodies put their inner `;` at the start of a line: migrate.py ends a statement at a
-- `;` that ends a line.
CREATE TABLE IF NOT EXISTS sensors_search_keys (
    rid INTEGER PRIMARY KEY,
    sensor_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE IF NOT EXISTS sensors_fts USING fts5(
    id UNINDEXED, name, device_id, tokenize = 'trigram case_sensitive 1'
);
INSERT INTO sensors_search_keys (sensor_id) SELECT id FROM sensors ORDER BY rowid;
INSERT INTO sensors_fts (rowid, id, name, device_id)
    SELECT k.rid, s.id, lower(s.name), lower(s.device_id)
    FROM sensors s JOIN sensors_search_keys k ON k.sensor_id = s.id
    WHERE s.deleted_at IS NULL;
CREATE TRIGGER IF NOT EXISTS sensors_search_ai AFTER INSERT ON sensors BEGIN
    INSERT INTO sensors_search_keys (sensor_id) VALUES (new.id)
    ; INSERT INTO sensors_fts (rowid, id, name, device_id)
        SELECT rid, new.id, lower(new.name), lower(new.device_id) FROM sensors_search_keys
        WHERE sensor_id = new.id AND new.deleted_at IS NULL
    ; END;
CREATE TRIGGER IF NOT EXISTS sensors_search_ad AFTER DELETE ON sensors BEGIN
    DELETE FROM sensors_fts WHERE rowid = (SELECT rid FROM sensors_search_keys WHERE sensor_id = old.id)
    ; DELETE FROM sensors_search_keys WHERE sensor_id = old.id
    ; END;
CREATE TRIGGER IF NOT EXISTS sensors_search_au AFTER UPDATE OF id, name, device_id, deleted_at ON sensors
BEGIN
    DELETE FROM sensors_fts WHERE rowid = (SELECT rid FROM sensors_search_keys WHERE sensor_id = old.id)
    ; UPDATE sensors_search_keys SET sensor_id = new.id WHERE sensor_id = old.id
    ; INSERT INTO sensors_fts (rowid, id, name, device_id)
        SELECT rid, new.id, lower(new.name), lower(new.device_id) FROM sensors_search_keys
        WHERE sensor_id = new.id AND new.deleted_at IS NULL
    ; END;

-- migration: 7
-- engine: postgresql
-- sensors.getAll on PostgreSQL (owner: sensors engineer). Two costs of the list's total:
-- 1. COUNT(*) of the live sensors read every row (~1.5 ms for 10,000). This one-row table holds
--    the number, kept by a trigger in the writing transaction, so a statement reading it sees
--    the count of its own snapshot: the total stays exact and costs one row.
-- 2. A search read every row through ILIKE (~7 ms for 10,000). pg_trgm's GIN indexes answer
--    ILIKE '%…%' from trigrams. The extension comes with PostgreSQL's contrib package; where it
--    is missing, or the role may not create it, the block goes on without the indexes (searches
--    then scan, as before) and sends the session a NOTICE saying so. fastupdate is off: with it,
--    new sensors wait in the index's pending list until a VACUUM, and the planner, costing that
--    list, scans the table instead (seen after loading 10,000 sensors into a new database).
--    Sensors are written rarely, so paying the index update at each write costs little.
-- Function bodies put their inner `;` at the start of a line: migrate.py ends a statement at a
-- `;` that ends a line.
CREATE TABLE IF NOT EXISTS sensor_live_count (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    live BIGINT NOT NULL CHECK (live >= 0)
);
INSERT INTO sensor_live_count (id, live) SELECT 1, COUNT(*) FROM sensors WHERE deleted_at IS NULL;
CREATE OR REPLACE FUNCTION sensor_live_count_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta INTEGER := 0
; BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN delta := delta + 1
    ; END IF
    ; IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.deleted_at IS NULL THEN delta := delta - 1
    ; END IF
    ; IF delta <> 0 THEN UPDATE sensor_live_count SET live = live + delta WHERE id = 1
    ; END IF
    ; RETURN NULL
; END $$;
CREATE OR REPLACE FUNCTION sensor_live_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sensor_live_count SET live = 0 WHERE id = 1
    ; RETURN NULL
; END $$;
CREATE TRIGGER sensor_live_count_row AFTER INSERT OR DELETE OR UPDATE OF deleted_at ON sensors
    FOR EACH ROW EXECUTE FUNCTION sensor_live_count_row();
CREATE TRIGGER sensor_live_count_truncate AFTER TRUNCATE ON sensors
    FOR EACH STATEMENT EXECUTE FUNCTION sensor_live_count_truncate();
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm
    ; CREATE INDEX IF NOT EXISTS sensors_name_trgm_idx ON sensors USING gin (name gin_trgm_ops)
        WITH (fastupdate = off) WHERE deleted_at IS NULL
    ; CREATE INDEX IF NOT EXISTS sensors_device_id_trgm_idx ON sensors USING gin (device_id gin_trgm_ops)
        WITH (fastupdate = off) WHERE deleted_at IS NULL
; EXCEPTION WHEN undefined_file OR insufficient_privilege OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm is not available (%): sensor search scans instead of using an index', SQLERRM
; END $$;

-- migration: 8
-- engine: sqlite
-- sensors.getAll search totals (owner: sensors engineer). sensor_search_tag changes, to a new
-- random value, in every transaction that could change which sensors a search matches or their
-- order by createdAt, name or type: a sensor inserted, deleted, renamed, given another deviceId
-- or type, soft-deleted or restored. A process that counted a search's matches in a snapshot with
-- tag T may reuse that total (and the ids of the matches in such an order) for any later snapshot
-- whose tag is still T: the page statement reads the tag in its own snapshot. Heartbeats and
-- status changes leave it alone. Random, not a counter: a restored backup or a rolled-back write
-- never brings back a tag with other data behind it.
CREATE TABLE IF NOT EXISTS sensor_search_tag (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    tag BIGINT NOT NULL
);
INSERT INTO sensor_search_tag (id, tag) VALUES (1, random());
CREATE TRIGGER IF NOT EXISTS sensor_search_tag_ai AFTER INSERT ON sensors BEGIN
    UPDATE sensor_search_tag SET tag = random() WHERE id = 1
    ; END;
CREATE TRIGGER IF NOT EXISTS sensor_search_tag_ad AFTER DELETE ON sensors BEGIN
    UPDATE sensor_search_tag SET tag = random() WHERE id = 1
    ; END;
CREATE TRIGGER IF NOT EXISTS sensor_search_tag_au AFTER UPDATE OF id, name, device_id, type, created_at, deleted_at
    ON sensors BEGIN
    UPDATE sensor_search_tag SET tag = random() WHERE id = 1
    ; END;

-- migration: 9
-- engine: postgresql
-- The same search tag as block 8, for PostgreSQL: one statement-level trigger (TRUNCATE too).
-- random() has 52 random bits here; scaled to a BIGINT.
CREATE TABLE IF NOT EXISTS sensor_search_tag (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    tag BIGINT NOT NULL
);
INSERT INTO sensor_search_tag (id, tag) VALUES (1, (random() * 4611686018427387904)::bigint);
CREATE OR REPLACE FUNCTION sensor_search_retag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sensor_search_tag SET tag = (random() * 4611686018427387904)::bigint WHERE id = 1
    ; RETURN NULL
; END $$;
CREATE TRIGGER sensor_search_retag
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF id, name, device_id, type, created_at, deleted_at ON sensors
    FOR EACH STATEMENT EXECUTE FUNCTION sensor_search_retag();

-- migration: 10
-- engine: sqlite
-- Sensor row versions (owner: sensors engineer). sensors.version gets a new random value in every
-- write that can change what a read of the sensor shows: an insert, any update of the row, and a
-- device key issued, revoked or removed (its prefix is part of the sensor). A process that built a
-- sensor's answer from a row with version V may reuse that answer for any later read that finds
-- version V: sensors.getAll reads only ids and versions, and the full rows of the sensors it has
-- not seen at that version. Random, not a counter: a sensor deleted and made again under the same
-- id, or a restored backup, never brings back a version with other data behind it. The update
-- trigger leaves alone a write that set a new version itself.
ALTER TABLE sensors ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
UPDATE sensors SET version = random();
CREATE TRIGGER IF NOT EXISTS sensor_version_ai AFTER INSERT ON sensors BEGIN
    UPDATE sensors SET version = random() WHERE rowid = NEW.rowid
    ; END;
CREATE TRIGGER IF NOT EXISTS sensor_version_au AFTER UPDATE ON sensors WHEN NEW.version = OLD.version BEGIN
    UPDATE sensors SET version = random() WHERE rowid = NEW.rowid
    ; END;
CREATE TRIGGER IF NOT EXISTS sensor_version_key_ai AFTER INSERT ON device_keys BEGIN
    UPDATE sensors SET version = random() WHERE id = NEW.sensor_id
    ; END;
CREATE TRIGGER IF NOT EXISTS sensor_version_key_au AFTER UPDATE ON device_keys BEGIN
    UPDATE sensors SET version = random() WHERE id IN (OLD.sensor_id, NEW.sensor_id)
    ; END;
CREATE TRIGGER IF NOT EXISTS sensor_version_key_ad AFTER DELETE ON device_keys BEGIN
    UPDATE sensors SET version = random() WHERE id = OLD.sensor_id
    ; END;

-- migration: 11
-- engine: postgresql
-- The same sensor row versions as block 10, for PostgreSQL: set before the row is written, so an
-- update writes one row version, not two.
ALTER TABLE sensors ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0;
UPDATE sensors SET version = (random() * 4611686018427387904)::bigint;
CREATE OR REPLACE FUNCTION sensor_version_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.version = OLD.version THEN
        NEW.version := (random() * 4611686018427387904)::bigint
    ; END IF
    ; RETURN NEW
; END $$;
CREATE TRIGGER sensor_version_row BEFORE INSERT OR UPDATE ON sensors
    FOR EACH ROW EXECUTE FUNCTION sensor_version_row();
CREATE OR REPLACE FUNCTION sensor_version_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE sensors SET version = (random() * 4611686018427387904)::bigint WHERE id = NEW.sensor_id
    ; END IF
    ; IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE sensors SET version = (random() * 4611686018427387904)::bigint WHERE id = OLD.sensor_id
    ; END IF
    ; RETURN NULL
; END $$;
CREATE TRIGGER sensor_version_key AFTER INSERT OR DELETE OR UPDATE ON device_keys
    FOR EACH ROW EXECUTE FUNCTION sensor_version_key();

-- migration: 12
-- Multi-factor sign-in and sign-in steps (owner: auth engineer). user_mfa holds a user's TOTP
-- secret, sealed (AES-GCM under a key derived from the service's secret key, never stored or
-- shown in clear after enrolment); enabled turns TRUE once a first code confirmed it. last_step
-- is the TOTP time step of the last code accepted: that step and older ones are refused, so a
-- code works once. failures / locked_until count wrong codes per user across processes (limits:
-- security.maxLoginAttempts, security.lockoutDuration). Recovery codes are stored as SHA-256
-- of 80 random bits, each usable once. A sign-in challenge is the short-lived, single-use
-- ticket between two steps of a sign-in (second factor, expired password, MFA enrolment): only
-- its SHA-256 is stored, and it is only good while the user's token_version is unchanged.
CREATE TABLE IF NOT EXISTS user_mfa (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    last_step BIGINT NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS mfa_recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
CREATE TABLE IF NOT EXISTS signin_challenges (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    step TEXT NOT NULL CHECK (step IN ('MFA_REQUIRED', 'PASSWORD_EXPIRED', 'MFA_ENROLMENT_REQUIRED')),
    token_version INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS signin_challenges_expires_at ON signin_challenges (expires_at);
CREATE INDEX IF NOT EXISTS signin_challenges_user_id ON signin_challenges (user_id);

-- migration: 13
-- engine: sqlite
-- sensors.getAll reads its page and total in one plain statement (owner: sensors engineer): the
-- per-process search memo and sensor answer cache are gone, and so is what only they read, the
-- search tag (block 8) and the row versions (block 10). The search index (block 6) stays.
DROP TRIGGER IF EXISTS sensor_search_tag_ai;
DROP TRIGGER IF EXISTS sensor_search_tag_ad;
DROP TRIGGER IF EXISTS sensor_search_tag_au;
DROP TABLE IF EXISTS sensor_search_tag;
DROP TRIGGER IF EXISTS sensor_version_ai;
DROP TRIGGER IF EXISTS sensor_version_au;
DROP TRIGGER IF EXISTS sensor_version_key_ai;
DROP TRIGGER IF EXISTS sensor_version_key_au;
DROP TRIGGER IF EXISTS sensor_version_key_ad;
ALTER TABLE sensors DROP COLUMN version;

-- migration: 14
-- engine: postgresql
-- The same as block 13, for PostgreSQL: the search tag (block 9) and the row versions (block 11)
-- go. The live count and the trigram indexes (block 7) stay.
DROP TRIGGER IF EXISTS sensor_search_retag ON sensors;
DROP FUNCTION IF EXISTS sensor_search_retag();
DROP TABLE IF EXISTS sensor_search_tag;
DROP TRIGGER IF EXISTS sensor_version_row ON sensors;
DROP FUNCTION IF EXISTS sensor_version_row();
DROP TRIGGER IF EXISTS sensor_version_key ON device_keys;
DROP FUNCTION IF EXISTS sensor_version_key();
ALTER TABLE sensors DROP COLUMN IF EXISTS version;

-- migration: 15
-- sensors.getAll with one filter, in its default order (newest first), walks one of these
-- indexes in order and stops when the page is full, instead of sorting all the filter's matches
-- with their whole rows; the total counts the same index (owner: sensors engineer).
CREATE INDEX IF NOT EXISTS sensors_live_type_idx ON sensors (type, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS sensors_live_status_idx ON sensors (status, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS sensors_live_location_idx ON sensors (location_id, created_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS sensors_live_parent_idx ON sensors (parent_sensor_id, created_at, id)
    WHERE deleted_at IS NULL;

-- migration: 16
-- Rate limiting of anonymous and failed calls (owner: hardening). One row per client and fixed
-- window: every API process adds the calls it counted (in batches, never one write per call) and
-- reads back the total, so the limit holds across processes. Rows of past windows are deleted.
CREATE TABLE IF NOT EXISTS rate_limit_hits (
    client TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (client, window_start)
);
CREATE INDEX IF NOT EXISTS rate_limit_hits_window ON rate_limit_hits (window_start);

-- migration: 17
-- Storage quota reservations (owner: hardening). An issued upload URL reserves its size until it
-- expires, or until its upload is complete and usage has had time to include the file, so URLs
-- issued before anything is uploaded cannot together exceed the quota. Quota decisions take the
-- single row of upload_quota_lock first, so two processes never decide at the same time.
CREATE TABLE IF NOT EXISTS upload_reservations (
    object_key TEXT PRIMARY KEY,
    size BIGINT NOT NULL CHECK (size >= 0),
    expires_at BIGINT NOT NULL,
    completed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS upload_reservations_expiry ON upload_reservations (expires_at);
CREATE TABLE IF NOT EXISTS upload_quota_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    decided_at BIGINT NOT NULL
);
INSERT INTO upload_quota_lock (id, decided_at) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

-- migration: 18
-- Device commands and device metrics (owner: edge engineer).
-- A command goes QUEUED -> DELIVERED -> RUNNING -> SUCCEEDED | FAILED, or EXPIRED once expires_at
-- passes unfinished. Each delivery is one attempt (attempt counts them): a delivery is a
-- compare-and-set on (state QUEUED, attempt), so two polls never deliver the same attempt, and a
-- device answers for the attempt it got. A delivery not answered before lease_until is queued
-- again for the next attempt, or FAILED after max_attempts. created_by has no foreign key: commands
-- outlive the users who sent them, like audit rows.
CREATE TABLE IF NOT EXISTS device_commands (
    id TEXT PRIMARY KEY,
    sensor_id TEXT NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
    type TEXT NOT NULL CHECK (type IN ('PING', 'REBOOT', 'SNAPSHOT', 'SET_CONFIG')),
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('QUEUED', 'DELIVERED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'EXPIRED')),
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 10),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    delivered_at BIGINT,
    lease_until BIGINT,
    started_at BIGINT,
    finished_at BIGINT,
    result TEXT,
    error TEXT,
    artifact_key TEXT
);
CREATE INDEX IF NOT EXISTS device_commands_sensor_idx ON device_commands (sensor_id, state, created_at);
CREATE INDEX IF NOT EXISTS device_commands_created_idx ON device_commands (created_at, id);
CREATE INDEX IF NOT EXISTS device_commands_open_idx ON device_commands (state, expires_at)
    WHERE state IN ('QUEUED', 'DELIVERED', 'RUNNING');
-- One row per (sensor, sample time): the key is the time-series index (a sensor's period is one
-- range scan) and makes a retried batch harmless. at alone serves the retention job, which
-- deletes the oldest rows in bounded chunks.
CREATE TABLE IF NOT EXISTS device_metrics (
    sensor_id TEXT NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    cpu_pct DOUBLE PRECISION,
    memory_pct DOUBLE PRECISION,
    disk_pct DOUBLE PRECISION,
    temperature_c DOUBLE PRECISION,
    uptime_s BIGINT,
    fps DOUBLE PRECISION,
    bitrate_kbps DOUBLE PRECISION,
    recording BOOLEAN,
    storage_used_pct DOUBLE PRECISION,
    PRIMARY KEY (sensor_id, at)
);
CREATE INDEX IF NOT EXISTS device_metrics_at_idx ON device_metrics (at);

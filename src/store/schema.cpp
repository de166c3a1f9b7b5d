// The migrations of each role (store/schema.h). Never edit a released
// migration: append a new one. PRAGMA user_version counts them.
#include "store/schema.h"

namespace converge {

namespace {

const char* const kWorkspace[] = {
    // 1: snaps made here or fetched; the stat cache; fetched publications.
    R"sql(
CREATE TABLE snaps (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  root TEXT NOT NULL,
  created_at TEXT NOT NULL,
  message TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  parent TEXT,
  origin TEXT NOT NULL DEFAULT 'local'   -- 'local' (snapped here) or 'fetched'
);
CREATE TABLE stat_cache (
  path TEXT PRIMARY KEY,   -- relative, '/'-separated
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  id TEXT NOT NULL,        -- blob or chunk list
  chunked INTEGER NOT NULL,
  racy INTEGER NOT NULL    -- modified too close to when it was hashed: re-read next time
) WITHOUT ROWID;
CREATE TABLE publications (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  repo TEXT NOT NULL,
  snap TEXT NOT NULL,
  scope TEXT NOT NULL,
  gate TEXT NOT NULL,
  lane TEXT NOT NULL,
  publisher_id INTEGER NOT NULL,
  publisher_handle TEXT NOT NULL,
  created_at TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  client_version TEXT NOT NULL,
  host TEXT NOT NULL,
  note TEXT NOT NULL,
  fetched_at TEXT NOT NULL
);
CREATE INDEX publications_by_time ON publications(created_at);
CREATE TABLE state (
  key TEXT PRIMARY KEY,    -- 'head': the snap the working tree was last captured as or restored to
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
};

const char* const kServer[] = {
    // 1: identity, registries, object ownership, publications, audit.
    R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  handle TEXT NOT NULL UNIQUE,
  admin INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,               -- public, part of the token text
  user_id INTEGER NOT NULL REFERENCES users(id),
  secret_hash BLOB NOT NULL,         -- BLAKE2b of the secret; the secret is never stored
  label TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  expires_at TEXT,
  revoked_at TEXT
);
CREATE INDEX tokens_by_user ON tokens(user_id);
CREATE TABLE repos (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  created_by INTEGER NOT NULL REFERENCES users(id)
);
CREATE TABLE repo_members (
  repo_id INTEGER NOT NULL REFERENCES repos(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  role TEXT NOT NULL CHECK (role IN ('read', 'publish', 'admin')),
  PRIMARY KEY (repo_id, user_id)
) WITHOUT ROWID;
CREATE TABLE lanes (
  repo_id INTEGER NOT NULL REFERENCES repos(id),
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (repo_id, name)
) WITHOUT ROWID;
CREATE TABLE lane_members (
  repo_id INTEGER NOT NULL,
  lane TEXT NOT NULL,
  user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (repo_id, lane, user_id),
  FOREIGN KEY (repo_id, lane) REFERENCES lanes(repo_id, name)
) WITHOUT ROWID;
CREATE TABLE scopes (
  repo_id INTEGER NOT NULL REFERENCES repos(id),
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (repo_id, name)
) WITHOUT ROWID;
CREATE TABLE gate_graphs (
  repo_id INTEGER PRIMARY KEY REFERENCES repos(id),
  graph TEXT NOT NULL,               -- canonical JSON, see docs/api.md
  updated_at TEXT NOT NULL,
  updated_by INTEGER NOT NULL REFERENCES users(id)
);
-- An object validated as a kind (the same bytes may be a blob and, say, a
-- manifest): stored once on disk, owned by the repos that uploaded it.
CREATE TABLE objects (
  id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest', 'snap', 'chunklist')),
  size INTEGER NOT NULL,             -- bytes of the object
  content_size INTEGER NOT NULL,     -- bytes of the file it holds: a blob's size, a chunk list's total
  PRIMARY KEY (id, kind)
) WITHOUT ROWID;
CREATE TABLE repo_objects (
  repo_id INTEGER NOT NULL REFERENCES repos(id),
  kind TEXT NOT NULL,
  object_id TEXT NOT NULL,
  PRIMARY KEY (repo_id, kind, object_id),
  FOREIGN KEY (object_id, kind) REFERENCES objects(id, kind)
) WITHOUT ROWID;
CREATE TABLE publications (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  repo_id INTEGER NOT NULL REFERENCES repos(id),
  snap TEXT NOT NULL,
  scope TEXT NOT NULL,
  gate TEXT NOT NULL,
  lane TEXT NOT NULL,
  publisher_id INTEGER NOT NULL REFERENCES users(id),
  publisher_handle TEXT NOT NULL,
  created_at TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  client_version TEXT NOT NULL,
  host TEXT NOT NULL,
  note TEXT NOT NULL
);
CREATE INDEX publications_by_repo ON publications(repo_id, seq);
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor_id INTEGER,
  actor_handle TEXT NOT NULL,
  action TEXT NOT NULL,
  repo TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,             -- 'ok' or 'refused: <code>'
  detail TEXT NOT NULL,
  remote_addr TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_by_repo ON audit(repo, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER publications_no_update BEFORE UPDATE ON publications
  BEGIN SELECT RAISE(ABORT, 'publications are immutable'); END;
)sql",
    // 2: the signed head of the audit chain (server/audit.h): one row, moved
    // forward by every append, signed with the data dir's audit key.
    R"sql(
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,              -- the newest row's seq
  hash TEXT NOT NULL,                -- and its hash
  public_key TEXT NOT NULL,          -- Ed25519, hex
  signature TEXT NOT NULL            -- over AuditHeadMessage(seq, hash), hex
);
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
  BEGIN SELECT RAISE(ABORT, 'the audit head is never removed'); END;
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head WHEN NEW.seq <= OLD.seq
  BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END;
)sql",
    // 3: a token a user makes with one of their own tokens is bound to it
    // (server/auth.h): it never expires later and is revoked with it.
    R"sql(
ALTER TABLE tokens ADD COLUMN parent_id TEXT REFERENCES tokens(id);
CREATE INDEX tokens_by_parent ON tokens(parent_id);
)sql",
    // 4: how deep each stored tree nests directories (store/tree_depth.h), so
    // intake and publication enforce the limit without walking trees. Rows
    // from before are measured when the server starts (server/depths.h).
    R"sql(
ALTER TABLE objects ADD COLUMN depth INTEGER;  -- a manifest's tree depth, a snap's root's; 0 for blobs and chunk lists; NULL: not measured yet
UPDATE objects SET depth = 0 WHERE kind IN ('blob', 'chunklist');
CREATE INDEX objects_unmeasured ON objects(kind) WHERE depth IS NULL;
)sql",
    // 5: sessions of the web view (server/web_sessions.h): a browser's cookie
    // holds a random id stored only as its hash, bound to the token it was
    // signed in with, so revoking that token ends the session.
    R"sql(
CREATE TABLE web_sessions (
  id_hash TEXT PRIMARY KEY,          -- hex BLAKE2b-256 of the cookie's random id; the id is never stored
  token_id TEXT NOT NULL REFERENCES tokens(id),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  ended_at TEXT                      -- signed out
);
CREATE INDEX web_sessions_by_token ON web_sessions(token_id);
)sql",
    // 6: which authority this database is (server/authority_id.h): one row,
    // written at the first start after this migration and never changed; the
    // data dir keeps the same ID, so a data dir and a database of two
    // different authorities are refused together.
    R"sql(
CREATE TABLE authority (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  authority_id TEXT NOT NULL         -- lowercase hex
);
CREATE TRIGGER authority_no_update BEFORE UPDATE ON authority
  BEGIN SELECT RAISE(ABORT, 'the authority ID never changes'); END;
CREATE TRIGGER authority_no_delete BEFORE DELETE ON authority
  BEGIN SELECT RAISE(ABORT, 'the authority ID never changes'); END;
)sql",
    // 7: object IDs as their 32 bytes and kinds as small integers
    // (store/object_records.h, KindCode: 1 blob, 2 chunklist, 3 manifest,
    // 4 snap, the order of the names, so rows sort as they did): about half
    // the bytes per row and per key. The old tables are renamed away, their
    // rows copied in key order (the IDs decoded by converge_unhex, store/
    // db.cpp) and dropped, all in the one migration transaction. A row no
    // object could be (an ID that is not 64 lowercase hex digits, an unknown
    // kind) or a link with no objects row is not copied: fsck reported those
    // as damage, and nothing can reference them.
    R"sql(
DROP INDEX objects_unmeasured;
ALTER TABLE repo_objects RENAME TO repo_objects_v6;
ALTER TABLE objects RENAME TO objects_v6;
CREATE TABLE objects (
  id BLOB NOT NULL CHECK (typeof(id) = 'blob' AND length(id) = 32),
  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),
  size INTEGER NOT NULL,             -- bytes of the object
  content_size INTEGER NOT NULL,     -- bytes of the file it holds: a blob's size, a chunk list's total
  depth INTEGER,                     -- a manifest's tree depth, a snap's root's; 0 for blobs and chunk lists; NULL: not measured yet
  PRIMARY KEY (id, kind)
) WITHOUT ROWID;
CREATE TABLE repo_objects (
  repo_id INTEGER NOT NULL REFERENCES repos(id),
  kind INTEGER NOT NULL,
  object_id BLOB NOT NULL,
  PRIMARY KEY (repo_id, kind, object_id),
  FOREIGN KEY (object_id, kind) REFERENCES objects(id, kind)
) WITHOUT ROWID;
INSERT INTO objects (id, kind, size, content_size, depth)
  SELECT converge_unhex(id),
         CASE kind WHEN 'blob' THEN 1 WHEN 'chunklist' THEN 2 WHEN 'manifest' THEN 3 ELSE 4 END,
         size, content_size, depth
  FROM objects_v6
  WHERE kind IN ('blob', 'chunklist', 'manifest', 'snap') AND length(id) = 64
    AND converge_unhex(id) IS NOT NULL
  ORDER BY id, kind;
INSERT INTO repo_objects (repo_id, kind, object_id)
  SELECT r.repo_id,
         CASE r.kind WHEN 'blob' THEN 1 WHEN 'chunklist' THEN 2 WHEN 'manifest' THEN 3 ELSE 4 END,
         converge_unhex(r.object_id)
  FROM repo_objects_v6 r JOIN objects_v6 o ON o.id = r.object_id AND o.kind = r.kind
  WHERE o.kind IN ('blob', 'chunklist', 'manifest', 'snap') AND length(o.id) = 64
    AND converge_unhex(o.id) IS NOT NULL
  ORDER BY r.repo_id, r.kind, r.object_id;
DROP TABLE repo_objects_v6;
DROP TABLE objects_v6;
CREATE INDEX objects_unmeasured ON objects(kind) WHERE depth IS NULL;
)sql",
    // 8: repo_objects without its foreign key to objects. Enforcing it cost
    // every link a probe of objects' primary key (a million-object publish:
    // ~5 % of its server time, more on PostgreSQL, whose check also locks
    // the objects row). ObjectRecords, the one writer of both tables, inserts
    // the objects row first in the same transaction and deletes one only
    // when no repo holds it; every read joins the two, so a link without its
    // row reads as not held; fsck reports one. The table is copied in key
    // order under the same name.
    R"sql(
ALTER TABLE repo_objects RENAME TO repo_objects_v7;
CREATE TABLE repo_objects (
  repo_id INTEGER NOT NULL REFERENCES repos(id),
  kind INTEGER NOT NULL,
  object_id BLOB NOT NULL,
  PRIMARY KEY (repo_id, kind, object_id)
) WITHOUT ROWID;
INSERT INTO repo_objects (repo_id, kind, object_id)
  SELECT repo_id, kind, object_id FROM repo_objects_v7 ORDER BY repo_id, kind, object_id;
DROP TABLE repo_objects_v7;
)sql",
};

// The audit log's filters by actor and by action (`converge audit --actor`,
// `--action`) read newest first: without these they scan back from the end
// of the whole log until a page fills.
const char* const kServerQueryIndexes[] = {
    "CREATE INDEX IF NOT EXISTS audit_by_actor ON audit(actor_handle, seq)",
    "CREATE INDEX IF NOT EXISTS audit_by_action ON audit(action, seq)",
};

}  // namespace

const char* const* QueryIndexes(DbRole role, int* count) {
  if (role == DbRole::kWorkspace) {
    *count = 0;
    return nullptr;
  }
  *count = static_cast<int>(std::size(kServerQueryIndexes));
  return kServerQueryIndexes;
}

const char* const* Migrations(DbRole role, int* count) {
  if (role == DbRole::kWorkspace) {
    *count = static_cast<int>(std::size(kWorkspace));
    return kWorkspace;
  }
  *count = static_cast<int>(std::size(kServer));
  return kServer;
}

}  // namespace converge

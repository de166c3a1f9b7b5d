// The server's object records: the `objects` table (one row per stored
// object: its sizes and tree depth) and `repo_objects` (which repo holds
// which object). This is the only file with SQL against those two tables.
//
// An ObjectRecords works on the caller's Db, inside the caller's
// transaction: it begins and commits none. Calls over many objects (HeldAmong,
// Link) send one statement per up to kBatch of them, not one per object: on
// PostgreSQL every statement is a round trip to the database. Every query is written in the SQL
// that SQLite 3.40 and PostgreSQL 15 both run unchanged. Errors are the
// database's (kIo, or kCorrupt for a malformed database); a row whose
// kind or ID does not parse is handed on with them unset, for fsck to report.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "store/db.h"
#include "store/object_refs.h"

namespace converge {

// An object to record as held, already installed in the CAS.
struct NewObject {
  ObjectKind kind;
  ObjectId id;
  HeldObject sizes;
};

// Objects by kind and ID, with their sizes. Hashed: a pack's check looks up
// tens of thousands of references, and comparing 32-byte keys down a tree
// was a sixth of a 1 % publish's server time.
struct ObjectKeyHash {
  size_t operator()(const std::pair<ObjectKind, ObjectId>& k) const {
    return std::hash<ObjectId>()(k.second) ^ static_cast<size_t>(k.first);
  }
};
using HeldObjects = std::unordered_map<std::pair<ObjectKind, ObjectId>, HeldObject, ObjectKeyHash>;

// How a kind is stored (server schema migration 7): 1 blob, 2 chunklist,
// 3 manifest, 4 snap, the order of the names, so rows sort as they did when
// kinds were text. Never renumber: the codes are on disk.
int64_t KindCode(ObjectKind kind);
std::optional<ObjectKind> KindFromCode(int64_t code);

// The 32 bytes an ID is stored as (a BLOB; BYTEA on PostgreSQL).
inline std::string_view IdBytes(const ObjectId& id) {
  return {reinterpret_cast<const char*>(id.data()), ObjectId::kBytes};
}

// An `objects` row, or a `repo_objects` row joined to its `objects` row.
struct ObjectRow {
  // For messages: the kind's name (or "kind N" for an unknown code) and the
  // ID's bytes in hex, as stored.
  std::string kind_text, id_text;
  std::optional<ObjectKind> kind;  // nullopt: malformed
  std::optional<ObjectId> id;      // nullopt: malformed
  // Nullopt for a repo_objects row that has no objects row.
  std::optional<HeldObject> sizes;
};

class ObjectRecords {
 public:
  // `page_rows`: how many rows a walk (ForEachObject, ForEachHeld) reads per
  // statement (tests make it small).
  explicit ObjectRecords(Db& db, int64_t page_rows = kPageRows) : db_(db), page_rows_(page_rows) {}

  static constexpr size_t kBatch = 256;  // objects per statement, at most
  static constexpr int64_t kPageRows = 1000;

  // Whether repo `repo_id` holds (kind, id), and its recorded sizes.
  Result<std::optional<HeldObject>> Held(int64_t repo_id, ObjectKind kind, const ObjectId& id);
  // Which of `refs` (of any kinds; repeats allowed) repo `repo_id` holds,
  // with their recorded sizes: what Held answers for each, in one query per
  // up to kBatch of them. Queries run in the caller's transaction, if any (a
  // read transaction makes them one snapshot). Many refs are best given in
  // the tables' key order (kind code, then ID): each batch then probes pages
  // next to the last batch's instead of anywhere in both tables.
  Result<HeldObjects> HeldAmong(int64_t repo_id, const std::vector<ObjectRef>& refs);

  // Needs a write transaction. Records the objects as held by the repo (an
  // objects row recorded before depths were gets its depth now). Returns how
  // many the repo did not hold before; an object listed twice counts once.
  Result<uint64_t> Link(int64_t repo_id, const std::vector<NewObject>& objects);

  // Calls `fn` for every objects row (sizes always set), in (id, kind)
  // order; stops at an error. Reads page_rows rows per statement (keyset
  // pages), so memory stays flat on either engine however many rows there
  // are; in a read transaction every page is of one snapshot, outside one a
  // row committed meanwhile may or may not be seen.
  Status ForEachObject(const std::function<Status(const ObjectRow&)>& fn);
  // Calls `fn` for every object repo `repo_id` holds, in (kind, id) order,
  // the same way; stops at an error.
  Status ForEachHeld(int64_t repo_id, const std::function<Status(const ObjectRow&)>& fn);
  // How many objects rows there are. In a read transaction, the first read
  // fixes the snapshot: fsck calls this before it lists the object files.
  Result<uint64_t> Count();

  // The manifests and snaps stored before depths were recorded (schema
  // migration 3), and recording one's depth.
  Result<std::vector<ObjectRef>> Unmeasured();
  Status SetDepth(ObjectKind kind, const ObjectId& id, uint64_t depth);

  // Needs a write transaction. Repo `repo_id` no longer holds (kind, id).
  Status Unlink(int64_t repo_id, ObjectKind kind, const ObjectId& id);
  // Needs a write transaction. Deletes the objects row of (kind, id) unless
  // a repo still holds it.
  Status DropIfUnheld(ObjectKind kind, const ObjectId& id);

 private:
  Db& db_;
  int64_t page_rows_;
};

}  // namespace converge

// What may enter a repo's object set, and the repo's membership records.
//
// A repo holds an object (of a kind) once it was uploaded into that repo; the
// bytes live once in the CAS whoever uploaded them. A manifest, snap or chunk
// list enters only when it decodes canonically and every object it names is
// already held (or arrives earlier in the same pack) with matching sizes, and
// a manifest or snap only when its tree is at most kMaxTreeDepth deep
// (store/tree_depth.h). As every reference is held first, a manifest's depth
// is one more than its deepest subdirectory's recorded depth: the server
// knows every tree's depth without walking it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "api/wire.h"
#include "store/db.h"
#include "store/objects.h"

namespace converge {

struct HeldObject {
  uint64_t size = 0;          // bytes of the object
  uint64_t content_size = 0;  // bytes of the file it holds: a blob's size, a chunk list's total
  // A manifest's tree depth, a snap's root's; 0 for blobs and chunk lists.
  // Nullopt: recorded before depths were, and not measurable (damaged).
  std::optional<uint64_t> depth = 0;
};

using HeldLookup =
    std::function<Result<std::optional<HeldObject>>(ObjectKind kind, const ObjectId& id)>;

// Checks the bytes of a manifest, snap or chunk list (`id` for messages). A bad
// or duplicate entry name is kInvalid naming the names; a non-canonical
// object, a missing reference (all of them are named), a size that does not
// match or a tree deeper than kMaxTreeDepth is kCorrupt. Returns the object's
// content_size, and its depth in `*depth` when given.
Result<uint64_t> CheckObject(ObjectKind kind, const ObjectId& id, std::string_view bytes,
                             const HeldLookup& held, uint64_t* depth = nullptr);

// Whether repo `repo_id` holds (kind, id), and its sizes.
Result<std::optional<HeldObject>> RepoHolds(Db& db, int64_t repo_id, ObjectKind kind,
                                            const ObjectId& id);

// Calls `fn` once for each distinct (kind, id) of `ids`, with what the repo
// holds of it, all read in one snapshot; stops at the first error.
using HeldVisitor = std::function<Status(ObjectKind kind, const ObjectId& id,
                                         const std::optional<HeldObject>& held)>;
Status ForEachHeld(Db& db, int64_t repo_id, const wire::ObjectIdSet& ids, const HeldVisitor& fn);

struct NewObject {
  ObjectKind kind;
  ObjectId id;
  HeldObject sizes;
};

// Inside an open write transaction: records the objects (already installed in
// the CAS) as held by the repo. Returns how many the repo did not hold before.
Result<uint64_t> LinkObjects(Db& db, int64_t repo_id, const std::vector<NewObject>& objects);

// Parses a 64-hex object ID from a request: kInvalid naming the text otherwise.
Result<ObjectId> ParseObjectId(std::string_view text);

}  // namespace converge

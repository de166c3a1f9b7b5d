// Object intake for a repo: the missing-objects question, one object at a
// time (PUT) and packs (POST .../objects/pack, server/pack_transfer.h).
// Sending objects out is server/object_sender.h.
//
// Bodies stream into the CAS (an ObjectWriter: memory stays flat for any
// size); the bytes must hash to their ID or nothing is kept. A manifest, snap
// or chunk list is checked by server/object_check.h against what the repo
// holds. An object becomes visible only whole (a single object: temp +
// rename; a pack's: its pack's index renamed) and belongs to the repo only
// once its membership row (store/object_records.h) commits, after the object
// is durable. No database connection is held while a body streams in (a slow
// uploader must not hold one of the node's db_connections): only to
// authorize, to check, and to commit. Every call needs the publish role on
// the repo: a
// caller without it gets kNotFound for a repo they may not read (as for one
// that does not exist) or kPermission, and the refusal is audited under the
// call's action. All answers come from the repo's own set, so nothing reveals
// what another repo holds.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "api/wire.h"
#include "server/caller.h"
#include "server/config.h"
#include "server/db_pool.h"
#include "store/cas.h"

namespace converge {

class ObjectIntake {
 public:
  using Sink = std::function<Status(std::string_view)>;
  // A request body: pushes every piece to the sink, in order. Fails with the
  // sink's status, or kInvalid when the body ends before its declared length.
  using Body = std::function<Status(const Sink&)>;

  ObjectIntake(DbPool& dbs, ObjectStore& store, const ServerConfig& config)
      : dbs_(dbs), store_(store), config_(config) {}

  // The IDs of `ids` the repo does not hold. kTooLarge for more IDs than
  // max_ids_per_request. Audits a refusal ("object.missing").
  Result<wire::ObjectIdSet> Missing(const Caller& caller, std::string_view repo,
                                    const wire::ObjectIdSet& ids);

  // Stores one object of `kind` whose ID is `id` (64 hex digits, else
  // kInvalid) from `body`. kTooLarge past max_object_bytes (a blob) or
  // max_metadata_bytes (the others); kCorrupt when the bytes do not hash to
  // the ID; CheckObject's kInvalid or kCorrupt for a manifest, snap or chunk
  // list. `stored` says whether the repo did not hold it before. Audits
  // "object.upload" on refusal.
  Result<wire::StoredObject> Put(const Caller& caller, std::string_view repo, ObjectKind kind,
                                 std::string_view id, const Body& body);

  // Takes a pack (api/pack.h) through server/pack_transfer.h's ReceivePack:
  // its errors, with how many objects before the failure were verified and
  // kept. Audits "object.upload" (target "pack") on refusal.
  Result<wire::PackResult> PutPack(const Caller& caller, std::string_view repo, const Body& body);

 private:
  // The repo's id when the caller may publish to it; else the refusal,
  // audited as "object.upload" of `target`. Holds a connection only for that.
  Result<int64_t> AuthorizeUpload(const Caller& caller, std::string_view repo, std::string target);

  DbPool& dbs_;
  ObjectStore& store_;
  const ServerConfig& config_;
};

}  // namespace converge

// Object intake and distribution for a repo: one object at a time (PUT/GET),
// the missing-objects question, and packs both ways (pack_transfer.cpp).
//
// Bodies stream through a temp file in the CAS (memory stays flat for any
// size); the bytes must hash to their ID or nothing is kept. An object becomes
// visible only whole (temp + rename) and belongs to the repo only once its
// membership row commits, after the file is durable. Uploads need the publish
// role; reads need read. All answers come from the repo's own set, so nothing
// reveals what another repo holds.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

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

  // The IDs of `ids` the repo does not hold.
  Result<wire::ObjectIdSet> Missing(const Caller& caller, std::string_view repo,
                                    const wire::ObjectIdSet& ids);

  Result<wire::StoredObject> Put(const Caller& caller, std::string_view repo, ObjectKind kind,
                                 std::string_view id, const Body& body);

  struct Located {
    ObjectKind kind;
    ObjectId id;
    uint64_t size = 0;
  };
  // An object the repo holds, ready to Stream; kNotFound otherwise.
  Result<Located> Locate(const Caller& caller, std::string_view repo, ObjectKind kind,
                         std::string_view id);
  // The object's bytes in pieces; kCorrupt at the end if they do not hash to `id`.
  Status Stream(const ObjectId& id, const Sink& sink) const { return store_.Stream(id, sink); }

  // Takes a pack (src/api/pack.h). Objects verified before a failure are kept;
  // the one being received when it failed never is.
  Result<wire::PackResult> PutPack(const Caller& caller, std::string_view repo, const Body& body);
  // Resolves a fetch: every requested object, or kNotFound naming the first the
  // repo lacks. Duplicates are sent once.
  Result<std::vector<Located>> PlanFetch(const Caller& caller, std::string_view repo,
                                         const wire::ObjectIdSet& ids);
  // Writes the whole pack for a plan to `sink`.
  Status WritePack(const std::vector<Located>& plan, const Sink& sink) const;

 private:
  Status CheckCount(const wire::ObjectIdSet& ids) const;

  DbPool& dbs_;
  ObjectStore& store_;
  const ServerConfig& config_;
};

}  // namespace converge

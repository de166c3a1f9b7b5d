// Sending a repo's objects out: one object at a time (GET) and packs (POST
// .../objects/fetch). Every answer comes from the repo's own set, so nothing
// reveals what another repo holds; a damaged object is an error, never wrong
// bytes. Reads need the read role.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire.h"
#include "server/caller.h"
#include "server/config.h"
#include "server/db_pool.h"
#include "store/cas.h"

namespace converge {

class ObjectSender {
 public:
  using Sink = std::function<Status(std::string_view)>;

  ObjectSender(DbPool& dbs, const ObjectStore& store, const ServerConfig& config)
      : dbs_(dbs), store_(store), config_(config) {}

  struct Located {
    ObjectKind kind;
    ObjectId id;
    uint64_t size = 0;
  };
  // An object repo `repo` holds, re-hashed and ready to Stream. Needs the read
  // role (kNotFound for a repo the caller may not read, as for one that does
  // not exist). kInvalid for an ID that is not 64 hex digits; kNotFound when
  // the repo does not hold it; kIo when its file is missing or damaged.
  // Audits a refusal ("object.read").
  Result<Located> Locate(const Caller& caller, std::string_view repo, ObjectKind kind,
                         std::string_view id);
  // For reading many objects of one repo within one request (the web
  // view's walk down a tree, then a file's blobs): the read role checked
  // once (OpenRepo, audited like Locate), then each object looked up in the
  // repo's set with its file's size checked (Find), but not re-hashed:
  // Stream verifies as it sends and never hands a sink the last piece of an
  // object that fails (store/cas.h), so an object is hashed once. A damaged
  // object is then an error where the bytes are used: a page that collects
  // them fails whole; a streamed answer is cut short.
  class RepoReader {
   public:
    // kNotFound when the repo does not hold it; kIo when its file is missing
    // or not the size it was stored with.
    Result<Located> Find(ObjectKind kind, const ObjectId& id) const;
    const std::string& repo() const { return repo_; }

   private:
    friend class ObjectSender;
    RepoReader(DbPool* dbs, const ObjectStore* store, int64_t repo_id, std::string repo)
        : dbs_(dbs), store_(store), repo_id_(repo_id), repo_(std::move(repo)) {}
    DbPool* dbs_;
    const ObjectStore* store_;
    int64_t repo_id_;
    std::string repo_;
  };
  // Needs the read role: kNotFound for a repo the caller may not read, as
  // for one that does not exist (audited, "object.read").
  Result<RepoReader> OpenRepo(const Caller& caller, std::string_view repo);

  // Re-hashes a located object before an answer that cannot be taken back
  // starts: kIo (naming the object, not the server's files) when it is
  // damaged or gone.
  Status Verify(const Located& o) const;

  // The object's bytes in pieces; kCorrupt at the end if they do not hash to
  // `id`, or the sink's error.
  Status Stream(const ObjectId& id, const Sink& sink) const { return store_.Stream(id, sink); }

  // Resolves a fetch: every requested object, or kNotFound naming the first
  // the repo lacks. Duplicates are sent once. Needs the read role; kTooLarge
  // for more IDs than max_ids_per_request. Audits a refusal ("object.fetch").
  Result<std::vector<Located>> PlanFetch(const Caller& caller, std::string_view repo,
                                         const wire::ObjectIdSet& ids);
  // Writes the whole pack (api/pack.h) for a plan to `sink`, in pack format
  // `version` (1, or 2: each object as it is stored, a compressed copy as
  // its frame, never compressed again here but for a loose object):
  // kCorrupt when a file's size differs from its record, or the sink's error.
  Status WritePack(const std::vector<Located>& plan, const Sink& sink, int version = 1) const;

 private:
  DbPool& dbs_;
  const ObjectStore& store_;
  const ServerConfig& config_;
};

}  // namespace converge

// What a download (client/download.h) checks of the objects a server sends,
// and the little it keeps of each: every object must be one asked for; a
// blob must have the size the object naming it promised; a chunk list must
// add up to its file's size; a snap's tree may be at most kMaxTreeDepth
// deep. A failure refuses the whole transfer (kCorrupt, or kTooLarge for a
// metadata object over kMaxMetadataObject), with a message that says the
// server sent it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/progress.h"
#include "store/cas.h"
#include "store/object_receiver.h"
#include "store/object_refs.h"

namespace converge {
class DownloadObserver;  // client/download.h
}

namespace converge::download {

// A manifest, snap or chunk list is decoded in memory: anything bigger than
// the server's own default limit for one (docs/server.md) is refused unread.
inline constexpr uint64_t kMaxMetadataObject = 64u << 20;

// A fetched snap, manifest or chunk list, verified and added to the write
// batch, which makes everything fetched visible at once, at the end. Only its
// references stay in memory here.
struct Held {
  ObjectKind kind;
  std::vector<ObjectRef> refs;
  std::vector<NamedRef> promises;  // references with a size; dropped once recorded
  uint64_t total = 0;              // a chunk list's: the file size it adds up to
};

// Decodes `bytes` once for both what it references and what it promises.
Result<Held> Decode(ObjectKind kind, std::string_view bytes);

// What an object still to be fetched must be, as the object naming it says.
struct Promise {
  uint64_t size;     // a blob's bytes, or the file size a chunk list adds up to
  ObjectKind namer;  // the manifest or chunk list that said so
};

// Promises for blobs and chunk lists, by ID. Two objects naming one ID with
// different sizes cannot both be right (an ID fixes the content), so that
// refuses the whole transfer.
class Promises {
 public:
  Status Add(const ObjectId& id, ObjectKind kind, uint64_t size, ObjectKind namer);
  // Once `id` is received (or found in the store) and checked: a later
  // namer is checked against its real size instead (DownloadSnaps).
  void Forget(ObjectKind kind, const ObjectId& id) { Of(kind).erase(id); }
  const Promise* Find(ObjectKind kind, const ObjectId& id) const;

 private:
  std::unordered_map<ObjectId, Promise>& Of(ObjectKind kind) {
    return kind == ObjectKind::kBlob ? blobs_ : lists_;
  }
  std::unordered_map<ObjectId, Promise> blobs_, lists_;
};

// The refusal of a snap whose tree nests `depth` deep (`snap`: which one,
// when it is known).
Status TooDeepFromServer(const std::optional<ObjectId>& snap, const std::string& depth);

// The client's role in receiving one pack (store/object_receiver.h): only
// what was asked for (`wanted`), each blob of the size its namer promised;
// every object joins the batch `batch`; manifests, snaps and chunk lists are
// decoded too, and what they name and promise is kept in `held` until it is
// fetched. `observer`, if any, sees each object before the batch takes it.
class DownloadRole : public ObjectReceiver::Role {
 public:
  DownloadRole(WriteBatch& batch, const std::unordered_map<ObjectId, ObjectKind>& wanted,
               const Promises& promises, std::unordered_map<ObjectId, Held>& held,
               Progress& progress, DownloadObserver* observer = nullptr)
      : batch_(batch),
        wanted_(wanted),
        promises_(promises),
        held_(held),
        progress_(progress),
        observer_(observer) {}

  std::unordered_set<ObjectId> received;

  Status Accept(ObjectKind kind, const ObjectId& id, uint64_t size) override;
  Status Refused(ObjectReceiver::Refusal refusal, ObjectKind kind, const ObjectId& id,
                 uint64_t size, const Status& why) override;
  void Received(size_t n) override { progress_.Add(0, n); }
  Status Take(ReceivedObject&& o) override;

 private:
  WriteBatch& batch_;
  const std::unordered_map<ObjectId, ObjectKind>& wanted_;
  const Promises& promises_;
  std::unordered_map<ObjectId, Held>& held_;
  Progress& progress_;
  DownloadObserver* observer_;
};

// Checks `h` (`id`) against what named it, and records what the objects it
// names must be: a chunk list must add up to the size of the file naming it,
// a blob must have the size its manifest entry or chunk list gives (checked
// at once for a blob already received, whose promise is forgotten).
Status KeepPromises(const ObjectId& id, Held& h, Promises& promises, const WriteBatch& batch);

// An object named by a fetched one that the store already holds: a blob
// must have the promised size (a chunk list is checked again on restore).
Status CheckStored(const ObjectStore& store, const ObjectRef& r, const Promises& promises);

// Refuses the transfer when a snap's tree is deeper than kMaxTreeDepth,
// measured over what was fetched (`held`) and what the store already had.
Status CheckDepths(const ObjectStore& store, const std::vector<ObjectId>& snaps,
                   const std::unordered_map<ObjectId, Held>& held);

}  // namespace converge::download

// publish: upload what the repo lacks of a snap, leaves first, in packs, then
// record the publication. Negotiation (negotiate.h) asks only about what
// differs from a snap the repo already holds whole, or walks the tree and
// stops at every manifest the repo has: re-publishing unchanged work uploads
// nothing, and an interrupted publish, re-run, uploads only what is missing.
#pragma once

#include <array>
#include <string>

#include "net/api_client.h"
#include "workspace/lock.h"
#include "workspace/workspace.h"

namespace converge {

struct PublishOptions {
  std::string scope, gate, lane, note;
  bool progress = false;
  // Held only to record what was published (the upload changes nothing here).
  LockOptions lock;
};

struct PublishOutcome {
  wire::Publication publication;
  uint64_t objects_uploaded = 0;
  uint64_t bytes_uploaded = 0;      // the objects' own bytes
  size_t negotiation_requests = 0;  // "which of these do you lack?" round trips
  // What went over the wire: every request body of the publish (negotiation,
  // packs, the publication), the packs' bodies alone, and their version.
  uint64_t bytes_sent = 0, pack_bytes = 0;
  int pack_version = 0;  // 0: nothing was uploaded
  // Per kind (ObjectKind order): objects, their bytes, and what their records
  // took in the packs before a stream's compression.
  struct KindSent {
    uint64_t objects = 0, bytes = 0, encoded = 0;
  };
  std::array<KindSent, 4> by_kind{};
};

// Fills what the flags left empty of `opts`: scope and gate from the
// workspace's remote, else kDefaultScope and kDefaultGate (store/defaults.h);
// lane from the remote, else left empty (PublishSnap then picks the caller's
// only lane, or kDefaultLane). Cannot fail.
void FillPublishDefaults(PublishOptions& opts, const std::optional<Remote>& remote);

// The snap `arg` names (an ID or unique prefix), or the newest one when it is
// empty. Errors: kNotFound (no snaps yet, or none matches), kInvalid (an
// ambiguous or malformed prefix), the database's.
Result<ObjectId> SnapToPublish(Workspace& ws, const std::string& arg);

Result<PublishOutcome> PublishSnap(Workspace& ws, ApiClient& api, const std::string& repo,
                                   const ObjectId& snap, const PublishOptions& opts);

// Who the caller is and which lanes of `repo` they belong to.
struct MyLanes {
  std::string handle;
  std::vector<std::string> lanes;
};
Result<MyLanes> FindMyLanes(ApiClient& api, const std::string& repo);

// The lane to publish to when none is given: the user's only lane of the
// repo, or "default" among several. Empty when the user has none.
Result<std::string> DefaultLane(const MyLanes& mine, const std::string& repo);

}  // namespace converge

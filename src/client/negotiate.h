// Negotiation for publish: which objects of a snap the repo lacks, and the
// order to upload them in (leaves first).
//
// With a base (a snap whose whole tree the repo is believed to hold: one this
// workspace published or fetched there), the tree is diffed against the base
// locally and one request asks about the objects that differ plus the base's
// root manifest. The server keeps a manifest only with everything under it,
// so a held base root proves the belief; if it is not held, or there is no
// base, negotiation walks the tree top down, one request per level, stopping
// at every manifest the repo already has.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/api_client.h"
#include "store/cas.h"

namespace converge {

struct UploadPlan {
  std::unordered_map<ObjectId, std::vector<ObjectRef>> refs;  // what each references
  std::vector<ObjectRef> order;                               // leaves first
  uint64_t bytes = 0;
  size_t requests = 0;  // negotiation round trips
};

Result<UploadPlan> Negotiate(const ObjectStore& store, ApiClient& api, const std::string& repo,
                             const ObjectId& snap, const std::optional<ObjectId>& base);

}  // namespace converge

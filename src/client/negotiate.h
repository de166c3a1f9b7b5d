// Negotiation for publish: which objects of a snap the repo lacks, and the
// order to upload them in (leaves first).
//
// With a base (a snap whose whole tree the repo is believed to hold: one this
// workspace published or fetched there), the tree is diffed against the base
// locally and one request asks about the objects that differ (but the
// directories along the changed paths, taken as missing: sending one against
// its base's version costs about what asking does) plus the base's root
// manifest. The server keeps a manifest only with everything under it,
// so a held base root proves the belief; if it is not held, or there is no
// base, negotiation walks the tree top down, one request per level, stopping
// at every manifest the repo already has; under a manifest the repo lacks, a
// blob under kAskBlobsFrom is taken as missing without asking (asking costs
// about what sending it does, and the server drops one it holds).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/api_client.h"
#include "store/cas.h"

namespace converge {

// Blobs this large or larger are asked about even under a directory the repo
// lacks (one it holds may be there); smaller ones are just sent.
inline constexpr uint64_t kAskBlobsFrom = 64u << 10;

// No name (a directory, a snap): in UploadPlan::name_of.
inline constexpr uint32_t kNoName = UINT32_MAX;

// An object's size, and whether it may compress: stored compressed, or loose
// (never tried). Found once, when the object joins the plan: ordering,
// cutting packs and encoding them read it here instead of searching the
// store's indexes again (at a million objects each search is a cache miss).
struct PlannedSize {
  uint64_t size : 63;
  uint64_t compressible : 1;
};

// Kept compact: a million-file snap's plan is about 70 bytes an object, and
// growing never copies it whole (deques, names in 1 MiB blocks).
struct UploadPlan {
  std::deque<ObjectRef> order;  // blobs first, then the rest leaves first
  std::deque<PlannedSize> size_of;  // of each object of `order`
  // For an object that replaces one of the base's at the same path (a
  // changed file, chunk list or directory): that one, which the repo holds,
  // to send it against (docs/pack.md, "Version 2").
  std::unordered_map<ObjectId, ObjectId> bases;
  // For each blob of `order` (they come first, one name each): the file name
  // it was found under (a chunk: its file's), as NameAt reads it; or
  // kNoName. For ordering an upload like objects together (PublishSnap).
  std::deque<uint32_t> name_of;
  std::vector<std::string> name_blocks;  // NUL-terminated names, 1 MiB a block
  uint64_t bytes = 0;
  size_t requests = 0;  // negotiation round trips
};

// The name `at` (from UploadPlan::name_of) stands for; empty for kNoName.
std::string_view NameAt(const UploadPlan& plan, uint32_t at);

// The objects of `snap` (held whole in `store`) that repo `repo` lacks, and
// their upload order, asked of the server through `api` (`base`: a snap the
// repo is believed to hold, or none). Needs the publish role on the repo
// (the server answers kNotFound or kPermission otherwise). Fails with the
// transport's errors, kInvalid when the server reports an object it was not
// asked about, kCorrupt when the snap nests deeper than kMaxTreeDepth (or an
// object of it does not decode), or the store's kNotFound/kIo for an object
// of the snap the store lacks.
Result<UploadPlan> Negotiate(const ObjectStore& store, ApiClient& api, const std::string& repo,
                             const ObjectId& snap, const std::optional<ObjectId>& base);

}  // namespace converge

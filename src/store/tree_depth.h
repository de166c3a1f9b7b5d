// How deep a tree may nest directories, and measuring it.
//
// A tree's depth is how many directories nest below its root: 0 for a root
// holding only files and symlinks, 1 when it has a subdirectory, and the
// path "d1/d2/.../d256/file" is 256 deep. No tree converge stores, accepts,
// sends or restores is deeper than kMaxTreeDepth: capture refuses a deeper
// working tree, the server refuses (422) a manifest or snap deeper than it,
// fetch refuses one from a server, and restore measures the whole tree before
// it writes anything. So every walk of a tree is bounded by the limit, and a
// hostile tree of 30,000 nested directories is refused instead of crashing
// or exhausting whoever reads it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/tree.h"

namespace converge {

// The one place the limit is set (docs/objects.md documents it).
inline constexpr uint64_t kMaxTreeDepth = 256;

// "'a/b/.../z'": a path for a message, its middle elided when it is long.
std::string QuoteLongPath(std::string_view path);

// Ok while `level` (a directory's depth below a walk's root) is within the
// limit; kCorrupt naming the limit and `path` past it. Walks that go down a
// tree check every level with this, so their stacks stay bounded.
Status CheckLevel(uint64_t level, std::string_view path);

// Measures the depth of manifests; each distinct manifest is read once (a
// subtree shared at several places too), iteratively, so any depth is safe.
class TreeDepth {
 public:
  // The subdirectories of a manifest: names (may be "" when unknown) and IDs.
  using Subdirs =
      std::function<Result<std::vector<std::pair<std::string, ObjectId>>>(const ObjectId&)>;

  explicit TreeDepth(Subdirs subdirs) : subdirs_(std::move(subdirs)) {}
  // Reads the manifests through `reader`.
  explicit TreeDepth(const TreeReader& reader);

  // The exact depth of the tree under manifest `root`.
  Result<uint64_t> Of(const ObjectId& root);

  // Ok when `root`'s tree is at most kMaxTreeDepth deep; kCorrupt otherwise,
  // naming the limit, the depth and the first directory past the limit.
  // `what` names the tree for the message ("snap 1a2b3c4d5e6f").
  Status Check(const ObjectId& root, const std::string& what);

 private:
  // The path of directories, from `root`, that goes deepest: its first
  // `levels` names.
  Result<std::string> DeepestPath(const ObjectId& root, uint64_t levels);

  Subdirs subdirs_;
  std::unordered_map<ObjectId, uint64_t> known_;
};

}  // namespace converge

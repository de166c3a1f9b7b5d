// Reading trees of objects: manifests, snaps and chunk lists decoded and
// verified, from the store or (for a working tree captured without storing)
// from manifests held in memory; and path-level walks and diffs of trees.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/cas.h"
#include "store/objects.h"

namespace converge {

class TreeReader {
 public:
  // `extra`: manifests to look in before the store (may be null).
  explicit TreeReader(const ObjectStore& store,
                      const std::unordered_map<ObjectId, std::string>* extra = nullptr)
      : store_(store), extra_(extra) {}

  Result<Manifest> ReadManifest(const ObjectId& id) const;
  Result<Snap> ReadSnap(const ObjectId& id) const;
  Result<ChunkList> ReadChunkList(const ObjectId& id) const;
  const ObjectStore& store() const { return store_; }

 private:
  const ObjectStore& store_;
  const std::unordered_map<ObjectId, std::string>* extra_;
};

// Calls fn for every entry under the manifest `root`, depth first, parents
// before children, with its '/'-separated path. Iterative; a tree deeper than
// kMaxTreeDepth (store/tree_depth.h) is kCorrupt when the walk reaches past it.
Status WalkTree(const TreeReader& reader, const ObjectId& root,
                const std::function<Status(const std::string& path, const Entry& e)>& fn);

struct Change {
  std::string path;  // a directory's path ends in '/' (only empty directories are listed)
  char change;       // 'A', 'M' or 'D'
  bool operator==(const Change&) const = default;
};

// Path-level changes from tree `from` to tree `to`, sorted by path. Files and
// symlinks are listed; an added or deleted directory lists what is under it,
// or itself when empty. Identical subtrees are skipped without being read.
// Iterative; kCorrupt when either tree nests past kMaxTreeDepth where they differ.
Result<std::vector<Change>> DiffTrees(const TreeReader& reader, const ObjectId& from,
                                      const ObjectId& to);

}  // namespace converge

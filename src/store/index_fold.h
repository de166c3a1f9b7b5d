// Folding pack indexes. A store that takes many write batches ends up with
// many indexes (a capture of a million files commits one every 65,536
// objects; a server one per pack request), and every lookup searches each:
// at a million objects, publish spent 60 % of its time in index searches.
// A fold writes one index over the entries of several, naming all their
// pack files, and removes them: only indexes are rewritten (64 bytes an
// object), never a pack, and nothing is re-hashed (reads re-hash anyway).
//
// Which ones, like git's `repack --geometric=2`: by entry count, largest
// first, an index is kept while it holds at least twice the entries of all
// smaller ones together; the first that does not, and all smaller ones, are
// folded into one. So a store holds O(log n) indexes, and an entry is
// rewritten O(log n) times over the store's life.
//
// Crash-safe by order: the new index is durable (written in tmp/, fsync'd,
// renamed into packs/, directory fsync'd) before any folded one is removed;
// killed between, each object is listed twice, at the same place of the same
// pack (two copies to lookups, which is harmless), until the next fold.
// An object stored twice keeps its newest copy (the one whose pack file
// was written last; ties: the newest index's); quarantined copies
// (store/pack_set.h) are not carried over. Runs under the
// repack lock, taken without waiting: beside a repack, a gc or another fold
// it does nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/cas.h"

namespace converge {

struct FoldStats {
  uint64_t indexes_folded = 0;  // removed
  uint64_t entries = 0;         // in the new index
  std::string index;            // its name; "" when nothing was folded
};

// Folds when the store has more than `min_indexes` indexes and the policy
// picks at least two. kIo on a write that failed (nothing removed then).
Result<FoldStats> FoldIndexes(ObjectStore& store, size_t min_indexes = 4);

// The policy: of indexes with these entry counts, the positions to fold
// (none, or at least two).
std::vector<size_t> IndexesToFold(const std::vector<uint64_t>& entries);

}  // namespace converge

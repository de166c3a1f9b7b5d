// What repack, gc and the orphan sweep (store/repack.h, store/gc.h,
// FindOrphanPacks) read of a store's files besides the pack indexes: the
// lock that lets one of them run at a time, the loose object files, and
// which pack files some index still names.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/fs.h"
#include "store/cas.h"
#include "store/pack_format.h"

namespace converge {

// One repack or gc of a store at a time: an flock on ROOT/repack.lock, held
// while the Fd lives. kConflict when another holds it.
Result<Fd> TakeRepackLock(const fs::path& root);

// A file's size, 0 when it cannot be read.
uint64_t FileBytes(const fs::path& p);

// A loose object file (well named, in its right shard) and when it was last
// written (nanoseconds since the epoch).
struct LooseFile {
  ObjectId id;
  uint64_t bytes = 0;
  int64_t mtime_ns = 0;
};
std::vector<LooseFile> ListLooseFiles(const ObjectStore& store);

// The pack files some index in `dir` names now; nullopt when an index cannot
// be read or vanishes while listed (then no pack may be taken for unnamed).
std::optional<std::set<std::string>> NamedPacks(const fs::path& dir);

// When `p` was last written (nanoseconds since the epoch); nullopt when it is gone.
std::optional<int64_t> ModifiedAt(const fs::path& p);

}  // namespace converge

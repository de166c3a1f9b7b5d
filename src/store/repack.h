// Repack: folds a store's loose objects and small packs into one new pack
// (several past the maximum pack size), behind `converge repack` for a
// workspace and a server's data dir alike. It only moves objects between
// files; it never drops an object (no GC: what is unreferenced stays).
//
// Crash-safe by order: every object folded is read and re-hashed (from any
// intact copy), written with a write batch and committed (its index renamed
// into place, durable) before any old file goes: then the folded indexes are
// removed, then the pack files no index names any more, then the folded loose
// files. Killed at any point, every object is readable from the old files or
// the new pack (fsck may report a pack no index names: a leftover it removes
// once an hour old). A reader that opened an old pack keeps reading it (an
// open file outlives its name); one that had not re-reads packs/ on its miss
// and finds the object in the new pack. Quarantined copies (store/pack_set.h)
// are not carried over: their bytes are already set aside.
//
// An object with no intact copy stops the repack before anything is removed:
// `converge fsck --fix` sets the damage aside first. One repack of a store
// runs at a time (an flock on ROOT/repack.lock); it may run beside readers
// and writers, which add packs of their own that it leaves alone.
#pragma once

#include <cstdint>
#include <string>

#include "store/cas.h"
#include "store/pack_writer.h"

namespace converge {

struct RepackOptions {
  // Packs whose files hold at least this many bytes are kept as they are;
  // 0 folds every pack.
  uint64_t keep_packs_from = 64u << 20;
  uint64_t max_pack_bytes = kDefaultMaxPackBytes;
};

struct RepackStats {
  uint64_t objects = 0;         // written into the new pack(s)
  uint64_t loose_folded = 0;    // loose files removed
  uint64_t indexes_folded = 0;  // pack indexes removed
  uint64_t packs_removed = 0;   // pack files removed
  uint64_t packs_kept = 0;      // indexes left as they were (large enough)
  uint64_t bytes_before = 0;    // of the files folded
  uint64_t bytes_after = 0;     // of the pack files written
  std::string index;            // the new index's name ("" when there was nothing to do)
};

// Fails with kConflict when another repack holds the lock, kCorrupt naming
// an object with no intact copy (nothing removed then), or kIo.
Result<RepackStats> Repack(ObjectStore& store, const RepackOptions& options = {});

}  // namespace converge

// Garbage collection of a store (`converge gc`, docs/objects.md, "Garbage
// collection"): removes the objects no root needs, for a workspace
// (workspace/gc.h) and a server's data dir (server/gc.h) alike. The caller
// decides what its roots are and fills a LiveSet (LiveWalk follows
// references from roots); CollectGarbage then keeps
//
//   - every object in the LiveSet;
//   - every copy in a pack index or loose file last written after
//     `cutoff` (the grace period: a command running beside the collection
//     may have stored objects it has not recorded yet, and what it stores
//     from now on lands in new files the collection never touches);
//   - everything a young snap, manifest or chunk list names (as git's prune
//     keeps what recent objects reach): a young object must not lose what
//     is under it, or recording it later would record a hole;
//
// and removes the rest, like repack (store/repack.h) does: the old packs
// holding garbage (a large one only when enough of it is: max_unused_percent)
// and the small old ones are rewritten into a new pack without
// it, every object carried re-hashed, and the new pack committed (durable,
// store/pack_writer.h) before any old index, pack or loose file goes. Young
// packs are never rewritten. Killed at any point, every object kept is
// readable, from the old files or the new pack; a rerun finishes the job.
//
// A loose garbage file is removed by renaming it to "<id>.gc" in its shard
// first and checking the file so caught: one written after the cutoff (an
// upload stored the object again between the listing and now) goes back
// under its name. A "<id>.gc" file a killed collection left is always put
// back at the start of the next one (fsck reports it as a leftover).
//
// It refuses (kCorrupt), removing nothing, when it cannot tell what is kept:
// a pack index in packs/ that cannot be read, fails its checksum or names a
// pack file that is gone; and (while carrying) an object to keep that has no
// intact copy. LiveWalk refuses a root whose tree it cannot read whole. So a
// collection never turns damage into loss: `converge fsck` first.
//
// One repack or gc of a store runs at a time (ROOT/repack.lock); readers and
// writers may run beside it: a reader keeps reading a pack it opened, and
// one that had not re-reads packs/ on its miss.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "store/cas.h"
#include "store/pack_writer.h"

namespace converge {

// The objects a collection must keep whatever their age: filled by the
// caller, then sealed (sorted: 32 bytes an object).
class LiveSet {
 public:
  void Add(const ObjectId& id) { ids_.push_back(id); }
  void Seal();
  // After Seal.
  bool Contains(const ObjectId& id) const;
  size_t size() const { return ids_.size(); }

 private:
  std::vector<ObjectId> ids_;
};

// Follows references from roots into a LiveSet, reading each snap, manifest
// and chunk list once (blobs are not read: they name nothing). Iterative:
// any depth.
class LiveWalk {
 public:
  LiveWalk(const ObjectStore& store, LiveSet& live) : store_(store), live_(live) {}

  // Adds (kind, id) and everything under it. Fails (kNotFound, kCorrupt),
  // naming the object and `label` ("snap 1a2b...", "the stat cache"), when
  // a snap, manifest or chunk list on the way is missing, damaged or does
  // not decode as its kind: what is under it cannot be known. A missing
  // blob is no reason to stop (nothing is under it).
  Status Add(ObjectKind kind, const ObjectId& id, const std::string& label);
  uint64_t objects_read() const { return read_; }

 private:
  const ObjectStore& store_;
  LiveSet& live_;
  std::unordered_set<ObjectId> seen_;  // snaps, manifests and chunk lists walked
  uint64_t read_ = 0;
};

struct GcOptions {
  // Nanoseconds since the epoch: a pack index or loose file last written at
  // or after it is young, and kept whole. The caller takes it (GcCutoff)
  // before it reads its roots.
  int64_t cutoff = 0;
  bool dry_run = false;  // decide and count, change nothing, read no blob
  // Old packs at least this large are kept as they are unless at least
  // max_unused_percent of their bytes is garbage (or rewrite_all); smaller
  // old ones are folded into the new pack.
  uint64_t keep_packs_from = 64u << 20;
  uint64_t max_unused_percent = 5;
  bool rewrite_all = false;
  uint64_t max_pack_bytes = kDefaultMaxPackBytes;
};

struct GcStats {
  uint64_t live = 0;  // objects the roots keep
  // Unreferenced objects that no copy is left of, and the bytes of every
  // unreferenced copy removed (packed: header and stored bytes; loose: file).
  uint64_t removed = 0, removed_bytes = 0;
  // Unreferenced objects kept: in a young file, or named by a young object.
  uint64_t young = 0, young_bytes = 0;
  // Unreferenced objects left in large old packs not worth rewriting yet,
  // and their bytes.
  uint64_t left = 0, left_bytes = 0;
  uint64_t duplicates = 0;     // extra copies of kept objects not carried over
  uint64_t quarantined = 0;    // quarantined copies dropped (their bytes are in damaged/)
  uint64_t carried = 0;        // objects written into the new pack(s)
  uint64_t carried_bytes = 0;  // their stored bytes before (an estimate of the new pack)
  uint64_t loose_folded = 0;   // loose files of kept objects, now packed
  uint64_t loose_removed = 0;  // loose files of garbage
  // Old indexes rewritten (their packs' kept objects carried, the files
  // removed), old ones kept as they are, young ones left alone.
  uint64_t indexes_rewritten = 0, packs_removed = 0, indexes_kept = 0, indexes_young = 0;
  uint64_t bytes_before = 0;  // of the files rewritten or removed
  uint64_t bytes_after = 0;   // of the files written (0 in a dry run)
  uint64_t leftovers = 0;     // temp files and orphan packs over an hour old, removed
  uint64_t restored = 0;      // "<id>.gc" files of a killed collection put back
  std::string index;          // the new index ("" when none was written)
};

// Collects `store`'s garbage as above. Errors: kConflict when another
// repack or gc runs; kCorrupt (nothing removed) as above; kIo.
Result<GcStats> CollectGarbage(ObjectStore& store, const LiveSet& live, const GcOptions& options);

// The cutoff of a grace period that starts now: now minus `grace_seconds`,
// in nanoseconds since the epoch.
int64_t GcCutoff(int64_t grace_seconds);

// Seconds of a grace period written "90", "90s", "30m", "2h" or "14d".
// kInvalid otherwise.
Result<int64_t> ParseGrace(const std::string& text);
inline constexpr int64_t kDefaultGraceSeconds = 3600;

}  // namespace converge

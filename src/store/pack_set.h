// The packs of one store as this process sees them (pack_format.h has the
// formats): the index files of packs/, mapped; the quarantine list; the pack
// files opened so far. Shared by every copy of an ObjectStore and safe to use
// from many threads.
//
// Other processes add packs at any time (a second `serve` on the same data
// dir, a fetch beside a restore), and a repack removes old ones after its own
// is durable. So a lookup that misses may be stale: ObjectStore re-reads the
// directory (Refresh) before it calls an object missing. A reader keeps an
// index it loaded mapped, and a pack it opened open, while another process
// removes them; a pack removed before it was opened is found again in the
// index that replaced its own, after a Refresh.
//
// The quarantine list (packs/quarantine, one "INDEX-NAME ID" per line) names
// packed copies that fsck found damaged and set aside: lookups skip them, so
// the object reads as missing (or from another copy) and the next write of
// it stores a good copy, which is how `fsck --fix` heals a packed object. A
// repack drops quarantined copies for good.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/fs.h"
#include "store/pack_format.h"

namespace converge {

// A pack left between the renames of an interrupted commit is removed only
// once it is this old (seconds): a younger one may be a commit under way.
inline constexpr int64_t kOrphanPackAge = 3600;

// The pack files in `dir` that no index names: left by a commit interrupted
// between its renames. None when some index cannot be read or vanishes
// while listed (a pack it names, or the index it was folded into names,
// must not look orphaned), nor one whose index name it shares.
Result<std::vector<fs::path>> FindOrphanPacks(const fs::path& dir);

class PackSet {
 public:
  explicit PackSet(fs::path dir);

  struct Copy {
    std::shared_ptr<const PackIndex> index;
    PackEntry entry;
    std::string Where() const;  // "pack 1a2b...-0.pack at byte 4096"
  };
  using Sink = std::function<Status(std::string_view)>;

  const fs::path& dir() const { return dir_; }

  // The copies of `id` in the indexes loaded, newest index first, without
  // quarantined ones.
  std::vector<Copy> Find(const ObjectId& id) const;
  bool Has(const ObjectId& id) const;
  // Whether packs/ changed (one stat) since the last Refresh.
  bool Changed() const;
  // Re-reads packs/: loads new indexes, forgets removed ones, re-reads the
  // quarantine list. An index that fails to parse is left out (fsck names it).
  Status Refresh();
  // Adds an index this process just committed, without reading the directory.
  Status Adopt(const std::string& index_name);
  // Every index loaded, newest first; the quarantine list.
  std::vector<std::shared_ptr<const PackIndex>> Indexes() const;
  // PackIndex::ReleasePages on every index loaded: for long walks over
  // many objects (a fetch's pack, a publish), every so often.
  void ReleasePages(uint64_t keep_up_to = kIndexKeptMapped) const;
  std::set<std::pair<std::string, ObjectId>> Quarantine() const;
  // Adds copies to the quarantine list (rewritten atomically); drops the
  // lines of indexes that are gone (after a repack).
  Status AddToQuarantine(const std::vector<std::pair<std::string, ObjectId>>& copies);
  Status PruneQuarantine(const std::set<std::string>& live_indexes);

  // Streams one copy (ObjectStore::Stream says how; store/pack_read.cpp),
  // in pieces of at most 1 MiB and a few MiB of memory whatever its size;
  // `delivered` becomes true once the sink got a byte. kNotFound when its
  // pack file is gone.
  Status StreamCopy(const Copy& c, const ObjectId& id, const Sink& sink, bool* delivered,
                    std::atomic<uint64_t>& bytes_read) const;
  // Streams a copy stored compressed (Codec::kZstd) as its stored frame,
  // verified as StreamCopy verifies (decompressed and re-hashed, the last
  // piece handed out only after the hash matched, one of at most 1 MiB raw
  // only whole and verified), in pieces of at most 1 MiB; ObjectStore::
  // StreamStored says why.
  Status StreamFrameCopy(const Copy& c, const ObjectId& id, const Sink& sink, bool* delivered,
                         std::atomic<uint64_t>& bytes_read) const;
  // A copy's bytes exactly as stored (to keep a damaged copy aside).
  Result<std::string> ReadStored(const Copy& c) const;

 private:
  using IndexList = std::vector<std::shared_ptr<const PackIndex>>;
  using QuarantineSet = std::set<std::pair<std::string, ObjectId>>;
  Result<std::shared_ptr<Fd>> OpenPack(const std::string& name) const;
  Status ReadAt(const Copy& c, int fd, char* buf, size_t n, uint64_t at) const;
  // A copy's pack opened, and its entry header (checked against its index
  // entry: sizes possible, same ID, codec and sizes) with the first `first`
  // stored bytes after it, in one read.
  struct EntryHead {
    std::shared_ptr<Fd> fd;
    std::unique_ptr<char[]> buf;  // the header, then `first` stored bytes
    std::string_view stored() const;
    size_t first = 0;
  };
  Result<EntryHead> ReadEntryHead(const Copy& c, const ObjectId& id, size_t first,
                                  std::atomic<uint64_t>& bytes_read) const;
  Result<QuarantineSet> LoadQuarantine() const;
  Status WriteQuarantine(const QuarantineSet& q);

  fs::path dir_;
  mutable std::mutex mu_;  // guards what follows; reads copy the pointers
  std::shared_ptr<const IndexList> indexes_;
  std::shared_ptr<const QuarantineSet> quarantine_;
  struct timespec seen_mtime_ = {0, 0};
  mutable std::map<std::string, std::shared_ptr<Fd>> fds_;
  mutable std::vector<std::string> fd_order_;  // oldest first, for closing past the cap
  std::mutex refresh_mu_;                      // one directory read at a time
};

}  // namespace converge

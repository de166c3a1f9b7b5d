// The stat cache a capture makes for the next one (workspace/stat_cache.h),
// started only at the first directory that comes out other than the old
// cache holds it: an unchanged re-snap then builds and writes nothing (it
// was a tenth of such a snap's time). The directories finished before that
// are copied from the old cache, where they are exactly as this capture
// found them (not listed, no file read, the manifest reused, not racy), so
// the file comes out as if it had been built from the start.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/fs.h"
#include "store/objects.h"
#include "workspace/stat_cache.h"

namespace converge {

class NextStatCache {
 public:
  // `old`: the cache the capture trusts; `spill_dir`: where the new one's
  // records go as they come (StatCacheWriter::SpillTo).
  NextStatCache(const StatCache& old, const ObjectId& rules, fs::path spill_dir)
      : old_(old),
        writer_(std::make_shared<StatCacheWriter>(rules)),
        spill_dir_(std::move(spill_dir)) {}

  // A directory the capture finished, with its entries (sorted) and their
  // stat fields; `same` when it is exactly as the old cache's directory
  // `cached` holds it. Safe from many threads.
  void Dir(const std::string& rel, const ObjectId& id, const StatEntry& stat, bool warned,
           const std::vector<Entry>& entries, const std::vector<StatEntry>& stats, bool same,
           int cached);
  // Starts writing now if no directory has yet: for a capture whose cache
  // must be written whatever it found (fewer directories than the old one,
  // other rules, no old file).
  void Start();
  // Whether any directory differed (or Start was called).
  bool started() const { return started_; }
  // The first error spilling the records (then nothing more is built and
  // nothing is to be written).
  Status status() const;
  // The writer, once started and if it had no error.
  std::shared_ptr<StatCacheWriter> Take();

 private:
  void StartLocked();

  const StatCache& old_;
  std::shared_ptr<StatCacheWriter> writer_;
  fs::path spill_dir_;
  mutable std::mutex mu_;
  bool started_ = false;
  Status spill_;
  std::vector<int> same_;  // the old cache's directories finished before the start
};

}  // namespace converge

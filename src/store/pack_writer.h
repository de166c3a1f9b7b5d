// Writes the pack files of one write batch (or one repack) and makes them
// visible together (pack_format.h has the formats).
//
// Objects are appended to a pack file in the store's tmp/ as one sequential
// stream (write-back starts as it goes); past `max_pack_bytes` the next
// object starts a new pack file, and the full one is synced at the next such
// roll or at Commit, once its write-back is done or nearly. Commit makes it
// all durable and visible in this order: each pack file fsync'd, the index
// written to tmp/ and fsync'd, the packs renamed into packs/ and the
// directory fsync'd, then the index renamed into packs/ and the directory
// fsync'd again. The index's rename is the one commit point: a pack without
// its index is invisible (fsck reports it as left by an interrupted write),
// so a crash at any point leaves every object of the batch visible or none.
// A writer destroyed uncommitted removes its files.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "store/pack_format.h"

namespace converge {

inline constexpr uint64_t kDefaultMaxPackBytes = 512u << 20;

// For crash tests only (tests/unit/pack_crash_test.cpp): when set, Commit
// calls it at each step, by name: "sealed" (packs durable in tmp/),
// "index-written", "packs-renamed", "index-renamed" (and repack and gc at
// theirs, store/repack.h, store/gc.h; a snap's stat cache at
// "stat-cache-written", workspace/stat_cache_disk.cpp). A test's child
// process kills itself there.
inline void (*pack_commit_step_hook)(const char* step) = nullptr;

// The same for the built binary (tests/e2e/crash_test.cpp): with
// CONVERGE_TEST_KILL_AT=STEP in the environment, the process SIGKILLs itself
// at step STEP; without it, nothing is set. main() calls it once.
void ArmStepKillFromEnvironment();

class PackWriter {
 public:
  // `root`: the store's root, with tmp/ and packs/ under it.
  PackWriter(fs::path root, uint64_t max_pack_bytes);
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;
  ~PackWriter();

  // Appends one object as stored: `stored` is its raw bytes or (kZstd) a
  // frame of them; `raw` is the object's size.
  Status Append(const ObjectId& id, uint8_t kind, Codec codec, uint64_t raw,
                std::string_view stored);
  // Appends a raw object of `size` bytes read from the start of `fd`.
  Status AppendFile(const ObjectId& id, uint8_t kind, int fd, uint64_t size);

  size_t count() const { return entries_.size(); }
  // The entry appended for `id`, or null. Looked up in an open-addressing
  // table of positions into the entries (4 bytes a slot, at most half full),
  // so a batch of a million objects needs no set of its IDs besides.
  const PackEntry* Find(const ObjectId& id) const;
  uint64_t bytes() const { return total_; }  // written so far, headers included

  // Makes every object appended durable and visible; returns the index's
  // file name (in packs/). Nothing may be appended afterwards.
  Result<std::string> Commit();

 private:
  Status StartPack();
  Status RollPack();    // the pack is full: its sync is left to SyncSealed
  Status SyncSealed();  // the pack RollPack left, made durable and closed
  Status SealPack();    // every pack durable and closed
  Status Write(std::string_view data);
  Status Flush();
  void RemoveFiles();
  void Index(uint32_t position);

  fs::path root_;
  uint64_t max_;
  std::string base_;                   // random: unique across processes and hosts
  std::vector<std::string> names_;     // pack file names, in order
  std::vector<fs::path> temps_;        // their temp files (and the index's, last)
  std::vector<fs::path> placed_;       // renamed into packs/ before the commit point
  Fd fd_;                              // the pack being written
  Fd sealed_;                          // the full one before it, until synced
  size_t sealed_index_ = 0;            // its place in names_ and temps_
  uint64_t size_ = 0;                  // its bytes, buffered ones included
  uint64_t written_ = 0, hinted_ = 0;  // bytes written to fd_, and given to write-back
  std::string buf_;
  // In blocks (a deque): growing never copies them all, so a batch of a
  // million objects holds them once (64 bytes each), and Commit sorts them
  // in place and streams the index from them (StreamPackIndex).
  std::deque<PackEntry> entries_;
  std::vector<uint32_t> slots_;  // 1 + a position in entries_, or 0: empty
  uint64_t total_ = 0;
  bool committed_ = false;
};

}  // namespace converge

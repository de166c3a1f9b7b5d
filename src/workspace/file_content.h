// Reading one working-tree file into objects: a blob, or for files over
// ChunkParams::kThreshold a chunk list of content-defined chunk blobs. Memory
// stays bounded by the chunk size however large the file is.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "store/cas.h"
#include "workspace/stat_cache.h"

namespace converge {

// Where captured objects go: a write batch, or nowhere when only IDs are
// wanted. Safe to use from many threads.
class CaptureSink {
 public:
  // `batch` null: hash only, store nothing.
  explicit CaptureSink(WriteBatch* batch) : batch_(batch) {}
  // Stores into `store` through write batches of at most `batch_objects`
  // new objects each, each committed (durable, then visible whole) as it
  // fills and the last by Commit. So a capture of a million files holds one
  // batch's index in memory, not the tree's. A capture that fails leaves the
  // batches committed before it: objects no snap names, which gc removes.
  CaptureSink(ObjectStore& store, uint64_t batch_objects);

  // `kind` is the batch's hint for its index (store/cas.h).
  Result<ObjectId> Put(std::string_view bytes, ObjectKind kind = ObjectKind::kBlob);
  // Commits the open batch (the second constructor's). Call once every Put returned.
  Status Commit();
  uint64_t written() const { return written_; }
  uint64_t batches_committed() const { return committed_; }

 private:
  // Swaps in a new batch when the open one is full and commits the full one
  // (other threads go on adding to the new one meanwhile).
  Status Rotate();

  ObjectStore* store_ = nullptr;
  uint64_t batch_objects_ = 0;
  std::shared_mutex mu_;  // guards owned_ and batch_ (exclusive: swapping them)
  std::unique_ptr<WriteBatch> owned_;
  WriteBatch* batch_;  // itself safe from many threads; the first to add an ID writes it
  std::atomic<uint64_t> in_batch_{0};
  std::atomic<uint64_t> written_{0}, committed_{0};
};

struct FileContent {
  StatEntry stat;  // the fields seen while reading, and the content's ID
  uint64_t bytes_read = 0;
};

// Reads the regular file `name` in directory `dirfd` (never following a
// symlink), stores its content through `sink`, and returns the stat fields and
// ID. `fs_now_ns` is the filesystem's clock when the capture began: a file
// modified at or after it is recorded racy. `display` names it in errors.
Result<FileContent> CaptureFile(int dirfd, const std::string& name, const std::string& display,
                                int64_t fs_now_ns, CaptureSink& sink);

// The text of the root's .convergeignore, "" when there is none.
Result<std::string> ReadIgnoreText(const fs::path& root);

// The stat fields of `st` as a cache entry (without an ID).
StatEntry StatFields(const struct stat& st);

}  // namespace converge

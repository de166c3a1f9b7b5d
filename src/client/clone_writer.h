// The working tree of a clone, written while its objects arrive (a
// DownloadObserver, client/download.h): each directory of the snap being
// cloned is made when its parent's manifest arrives, each file as soon as
// its blob arrives verified, from the bytes the download holds in memory
// anyway (copied, while the memory budget allows, to a writing thread that
// works beside the download's receiving). A clone so reads nothing back
// from its store for those files (restore would read, decompress and
// re-hash each one again).
//
// Files are written here when their objects arrive after the manifest
// naming them: a file of one blob from it, a chunked file (made when its
// chunk list arrives) a chunk at a time at each chunk's offset, trusted once
// every chunk is in. The rest (symlinks, a blob the download spilled to a
// temp file, an object that came before a second name for it, a subtree
// that came earlier under another path) is left to CompleteRestore (workspace/
// restore.h), one walk of the snap after the download that trusts the files
// written here by the stat fields they had when written (WrittenFiles) and
// writes whatever else the snap holds: the tree comes out as a restore
// makes it, whatever order the server sent the objects in, and a file this
// writer could not finish is simply written there.
//
// As careful as restore: every name is checked again (CheckEntryName),
// nothing is made deeper than kMaxTreeDepth, every path is opened with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) under the workspace root
// (this writer makes no symlink), files and directories with O_EXCL and
// mkdir semantics: nothing there is ever overwritten. A failure skips that
// file (a partial one is removed) and never fails the clone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/fs.h"
#include "client/download.h"
#include "store/memory_budget.h"
#include "store/objects.h"
#include "workspace/restore_cache.h"

namespace converge {

class CloneWriter : public DownloadObserver {
 public:
  // Writes `snap`'s tree under `root` (a new workspace's: empty but for its
  // .converge). Errors: kIo when `root` cannot be opened.
  static Result<std::unique_ptr<CloneWriter>> Open(const fs::path& root, const ObjectId& snap);
  // `root`: that directory, open.
  CloneWriter(Fd root, const ObjectId& snap);
  ~CloneWriter();
  CloneWriter(const CloneWriter&) = delete;
  CloneWriter& operator=(const CloneWriter&) = delete;

  void Metadata(ObjectKind kind, const ObjectId& id, std::string_view bytes) override;
  void Blob(const ObjectId& id, std::string_view bytes) override;

  // Waits for the files still queued: call once the download is over (no
  // call of Blob comes after). Then the files written, with their stat
  // fields as written, are in written(), sealed.
  void Finish();
  const WrittenFiles& written() const { return written_; }
  uint64_t files_written() const { return files_written_; }

 private:
  struct File {
    std::string path;
    bool executable = false;
    uint64_t size = 0;
  };
  // A chunked file being written a chunk at a time.
  struct Chunked {
    explicit Chunked(std::string p, size_t n) : path(std::move(p)), left(n) {}
    std::string path;
    std::atomic<size_t> left;  // chunks not yet written
    std::atomic<bool> failed{false};
  };
  struct Piece {
    std::shared_ptr<Chunked> file;
    uint64_t offset = 0, size = 0;
  };
  // Makes the subdirectories of `m`, which is the directory at `dir`, and
  // notes its files and subdirectories for when their objects arrive.
  void Place(const std::string& dir, const Manifest& m);
  void Write(const File& f, std::string_view bytes);
  // Makes the files named by chunk list `bytes` and notes where its chunks go.
  void StartChunked(std::vector<File> files, std::string_view bytes);
  void WritePiece(const Piece& p, std::string_view bytes);
  // The writing thread: files are made there, beside the download's
  // receiving (decompressing, hashing) instead of after it on its thread.
  struct Job {
    std::vector<File> targets;
    std::vector<Piece> pieces;
    BudgetedBytes bytes;
  };
  void Work();

  Fd root_;
  ObjectId snap_;
  std::mutex mu_;
  // Manifests and blobs on their way, with the paths waiting for them.
  std::unordered_map<ObjectId, std::vector<std::string>> dirs_;
  std::unordered_map<ObjectId, std::vector<File>> files_;
  std::unordered_map<ObjectId, std::vector<File>> lists_;    // chunked files, by chunk list
  std::unordered_map<ObjectId, std::vector<Piece>> pieces_;  // by chunk
  size_t waiting_ = 0;                                       // entries in all four
  WrittenFiles written_;
  std::atomic<uint64_t> files_written_{0};
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Job> queue_;
  uint64_t queued_bytes_ = 0;
  bool finishing_ = false;
  std::thread worker_;
};

}  // namespace converge

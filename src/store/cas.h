// The content-addressed object store shared by workspace and server.
//
// Layout under the store's root: objects/ab/abcdef... (one file per object,
// sharded by the first two hex characters) and tmp/ (objects being written).
// An object file is written to tmp/, made durable, then renamed into place, so
// a reader sees a whole object or none; it is never modified in place. An
// install renames over any file already there: its bytes were verified to
// hash to the ID, so that heals a damaged copy (same size or not), and storing
// an object costs the same whether or not it was stored before. Every read
// re-hashes the bytes and a mismatch is kCorrupt naming the object.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/fs.h"
#include "store/hash.h"
#include "store/objects.h"

namespace converge {

class ObjectStore;

// Writes one object to a temp file, hashing as it goes. Hand the finished
// writer to ObjectStore::Install or WriteBatch::Add; a writer dropped before
// that removes its temp file.
class ObjectWriter {
 public:
  ObjectWriter(ObjectWriter&& o) noexcept;
  ObjectWriter& operator=(ObjectWriter&&) = delete;
  ~ObjectWriter();

  Status Append(std::string_view data);
  // Closes the temp file. Fails with kCorrupt, keeping nothing, when the bytes
  // hash to something other than `expected`.
  Result<ObjectId> Finish(const std::optional<ObjectId>& expected = std::nullopt);
  uint64_t size() const { return size_; }

 private:
  friend class ObjectStore;
  friend class WriteBatch;
  ObjectWriter(fs::path temp, Fd fd) : temp_(std::move(temp)), fd_(std::move(fd)) {}
  Status Flush();

  fs::path temp_;
  Fd fd_;
  // Appends gather here first: network pieces are small, and a write() per
  // piece costs a syscall and a partial-page zeroing each.
  std::string pending_;
  Hasher hasher_;
  uint64_t size_ = 0;
  std::optional<ObjectId> id_;  // set by Finish
};

class ObjectStore {
 public:
  // Creates root/objects (with its 256 shards) and root/tmp when missing.
  static Result<ObjectStore> Open(const fs::path& root);

  const fs::path& root() const { return root_; }
  fs::path PathOf(const ObjectId& id) const;
  bool Has(const ObjectId& id) const;
  Result<uint64_t> SizeOf(const ObjectId& id) const;

  Result<ObjectWriter> NewWriter() const;
  // Makes a finished writer's object durable and visible (fsync, rename, fsync
  // dir), replacing the file of a copy stored before.
  Status Install(ObjectWriter&& writer);
  // Stores bytes durably; returns their ID. Bytes whose object file exists
  // are not written again (a damaged one stays: `converge fsck --fix` moves
  // it aside, then this stores it anew).
  Result<ObjectId> Put(std::string_view bytes);
  // Stores bytes that must hash to `id`: kCorrupt, nothing stored, otherwise.
  Status PutExpected(const ObjectId& id, std::string_view bytes);

  // Reads a whole object and verifies it; kTooLarge past `max_size`.
  Result<std::string> Read(const ObjectId& id, uint64_t max_size = 256u << 20) const;
  // Streams an object's bytes to `sink` in pieces and verifies the hash at the
  // end. The sink sees bytes before they are verified (stage them, and keep
  // them only when this returns ok), but never the last piece of an object
  // that fails: a damaged object never reaches a sink whole, and one that
  // fits in one read (up to 1 MiB) reaches it only verified.
  Status Stream(const ObjectId& id, const std::function<Status(std::string_view)>& sink) const;
  // Re-hashes an object without keeping its bytes.
  Status Verify(const ObjectId& id) const;

  // Every object ID on disk, in no particular order (for fsck).
  Status ForEach(const std::function<Status(const ObjectId&)>& fn) const;
  // Removes temp files older than `max_age_seconds` left by crashed writers.
  void CleanStaleTemps(int64_t max_age_seconds) const;

  // Bytes read from object files since start-up (all threads).
  uint64_t bytes_read() const { return bytes_read_->load(); }

 private:
  friend class WriteBatch;
  explicit ObjectStore(fs::path root);
  // Renames a finished (verified) temp into place, over any existing file.
  Status RenameIntoPlace(const fs::path& temp, const ObjectId& id);

  fs::path root_;
  std::shared_ptr<std::atomic<uint64_t>> bytes_read_;
};

// Many objects made durable together: one syncfs before the renames and one
// after, instead of an fsync per object (the way git's batch fsync works).
// Nothing added is visible in the store until Commit, which renames blobs
// first, then chunk lists, manifests and snaps, each kind in the order added:
// add manifests leaves first, and a crash in the middle never leaves an object
// visible whose references are not (whichever thread added a chunk or a chunk
// list first). A batch destroyed uncommitted removes its temp files.
class WriteBatch {
 public:
  explicit WriteBatch(ObjectStore& store) : store_(&store) {}
  WriteBatch(WriteBatch&&) noexcept = default;
  ~WriteBatch();

  // Adds a finished writer's object; Commit installs it even when the store
  // has it already (replacing that file, as ObjectStore::Install does). A
  // second writer of an ID already in the batch is dropped.
  Status Add(ObjectWriter&& writer, ObjectKind kind = ObjectKind::kBlob);
  // Adds bytes unless the store or the batch has them already.
  Result<ObjectId> Put(std::string_view bytes, ObjectKind kind = ObjectKind::kBlob);
  bool Contains(const ObjectId& id) const { return ids_.count(id) > 0; }
  bool HasOrPending(const ObjectId& id) const { return Contains(id) || store_->Has(id); }
  size_t size() const { return pending_.size(); }
  const ObjectStore& store() const { return *store_; }
  Status Commit();

 private:
  struct Pending {
    fs::path temp;
    ObjectId id;
    ObjectKind kind;
  };
  ObjectStore* store_;
  std::vector<Pending> pending_;
  std::unordered_set<ObjectId> ids_;
};

}  // namespace converge

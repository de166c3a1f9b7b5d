// The content-addressed object store shared by workspace and server.
//
// Layout under the store's root (docs/objects.md, "Packs at rest"):
//   packs/   pack files and their indexes (store/pack_format.h): where write
//            batches put objects (capture, fetch, a pack upload), many to a
//            file, written as one stream and made durable once per batch;
//            packs/quarantine lists packed copies fsck set aside as damaged.
//   objects/ab/abcdef...  loose objects, one file each, sharded by the first
//            two hex characters: single-object writes (Put, Install: a snap,
//            a single-object upload) and every store made before packs.
//   tmp/     files being written: loose objects, packs and indexes.
// A loose object is written to tmp/, made durable, then renamed into place;
// a batch's packs and their index are written to tmp/, made durable, and
// renamed into packs/ index last (store/pack_writer.h): either way a reader
// sees an object whole or not at all, and never a file modified in place.
//
// One object may have several copies (loose and packed, or in two packs: the
// server writes every verified upload, held or not). Every read re-hashes
// what it reads, and a copy whose bytes do not hash to the ID is skipped for
// the next one, so a verified write of an object heals a damaged copy: an
// install renames over a loose file, a batch adds a newer packed copy. A
// lookup that misses re-reads packs/ first (another process may have added
// a pack): a read calls an object missing only when the disk says so.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "store/hash.h"
#include "store/objects.h"

namespace converge {

class ObjectStore;
class PackSet;
class WriteBatch;

// Collects one object's bytes, hashing as it goes: in memory up to 8 MiB (a
// chunk, a manifest: the size of nearly every object) while the process's
// store/memory_budget.h allows, past that in a temp file, so memory stays
// flat for an object of any size and any number of writers. Hand the
// finished writer to ObjectStore::Install or WriteBatch::Add; a writer
// dropped before that removes its temp file.
class ObjectWriter {
 public:
  ObjectWriter(ObjectWriter&& o) noexcept;
  ObjectWriter& operator=(ObjectWriter&&) = delete;
  ~ObjectWriter();

  // A hint: the object will be `size` bytes (saves regrowing the buffer).
  void Reserve(uint64_t size);
  Status Append(std::string_view data);
  // Ends the object. Fails with kCorrupt, keeping nothing, when the bytes
  // hash to something other than `expected`.
  Result<ObjectId> Finish(const std::optional<ObjectId>& expected = std::nullopt);
  uint64_t size() const { return size_; }
  // The object's bytes once Finish verified them, when it is held whole in
  // memory (never spilled to a temp file); nullopt otherwise. Valid until
  // the writer is handed on.
  std::optional<std::string_view> Held() const;

 private:
  friend class ObjectStore;
  friend class WriteBatch;
  explicit ObjectWriter(fs::path tmp_dir) : tmp_dir_(std::move(tmp_dir)) {}
  bool spilled() const { return !temp_.empty(); }
  // Counts `total` in-memory bytes against the budget; false when they do not fit.
  bool Budget(uint64_t total);
  void ReleaseBudget();
  Status Spill();
  Status Flush();
  // Writes an in-memory object to a temp file (for Install).
  Status ToFile();

  fs::path tmp_dir_;
  std::string buf_;  // the whole object until spilled; afterwards a write buffer
  fs::path temp_;    // once spilled
  Fd fd_;
  Hasher hasher_;
  uint64_t size_ = 0;
  uint64_t budget_ = 0;         // bytes of buf_ counted against the memory budget
  std::optional<ObjectId> id_;  // set by Finish
};

// A file a writer left in a store, or may still be writing (ListTemps).
struct TempFile {
  fs::path path;
  uint64_t size = 0;
  int64_t age_seconds = 0;   // since it was last written
  bool orphan_pack = false;  // a pack file no index names
  // The age at which whoever removes temps `age` seconds old may remove
  // this one: an orphan pack not before kOrphanPackAge (store/pack_set.h),
  // since a commit leaves one for a moment between its renames.
  int64_t RemovableAt(int64_t age) const;
};

class ObjectStore {
 public:
  // Creates root/objects (with its 256 shards), root/packs and root/tmp when
  // missing, and loads the pack indexes.
  static Result<ObjectStore> Open(const fs::path& root);

  const fs::path& root() const { return root_; }
  // Where the loose copy of `id` is (or would be).
  fs::path PathOf(const ObjectId& id) const;
  // Whether some copy is there (not whether it is intact). A false "no" for
  // an object another process stored an instant ago is possible: callers
  // only use it to skip writing what is stored.
  bool Has(const ObjectId& id) const;
  // The object's size as its first copy records it.
  Result<uint64_t> SizeOf(const ObjectId& id) const;
  // Where a read of `id` looks first, for messages and tests: the file, the
  // offset of the object's stored bytes in it and their length (a packed
  // object may be stored compressed: then `compressed`), and the object's
  // size as recorded there.
  struct Location {
    fs::path file;
    uint64_t offset = 0, length = 0, size = 0;
    bool packed = false, compressed = false;
  };
  Result<Location> Locate(const ObjectId& id) const;

  Result<ObjectWriter> NewWriter() const;
  // Makes a finished writer's object durable and visible as a loose file
  // (fsync, rename, fsync dir), replacing the file of a copy stored before.
  Status Install(ObjectWriter&& writer);
  // Stores bytes durably as a loose file; returns their ID. Bytes the store
  // has (some copy) are not written again (a damaged copy stays: `converge
  // fsck --fix` sets it aside, then this stores it anew).
  Result<ObjectId> Put(std::string_view bytes);
  // Stores bytes that must hash to `id`: kCorrupt, nothing stored, otherwise.
  Status PutExpected(const ObjectId& id, std::string_view bytes);

  // Reads a whole object and verifies it; kTooLarge past `max_size`.
  Result<std::string> Read(const ObjectId& id, uint64_t max_size = 256u << 20) const;
  // Streams an object's bytes to `sink` in pieces and verifies the hash at the
  // end. The sink sees bytes before they are verified (stage them, and keep
  // them only when this returns ok), but never the last piece of an object
  // that fails: a damaged object never reaches a sink whole, and one that
  // fits in one read (up to 1 MiB) reaches it only verified. A damaged copy is passed over for
  // another copy when the sink has seen nothing of it (a copy larger than one read is re-hashed
  // first when there is another).
  Status Stream(const ObjectId& id, const std::function<Status(std::string_view)>& sink) const;
  // For sending an object on (docs/pack.md, "Version 2"): like Stream, but a
  // copy stored compressed goes to the sink as its stored zstd frame (after
  // the same verification: decompressed and re-hashed, the last piece only
  // after the hash matched), so it travels without being compressed again.
  // Every call of the sink carries how the copy being sent is stored: `zstd`
  // (the pieces are a frame of `stored` bytes) or not (the raw bytes). An
  // empty object never reaches the sink.
  struct StoredForm {
    bool zstd = false;
    uint64_t stored = 0;
  };
  using StoredSink = std::function<Status(const StoredForm&, std::string_view)>;
  Status StreamStored(const ObjectId& id, const StoredSink& sink) const;
  // Re-hashes an object without keeping its bytes: ok when some copy is intact.
  Status Verify(const ObjectId& id) const;
  // Re-hashes the loose copy only (fsck checks each copy on its own).
  Status VerifyLoose(const ObjectId& id) const;

  // Every object ID stored (loose or packed, not quarantined), each once, in
  // no particular order.
  Status ForEach(const std::function<Status(const ObjectId&)>& fn) const;
  // The files writers leave, or may still be writing: tmp/'s (objects and
  // packs being written), WriteFileAtomic's temps beside their targets in
  // the root (base/fs.h IsAtomicWriteTemp: a workspace's config, a data
  // dir's keys), and pack files no index names (left by a commit killed
  // between its renames). Errors: kIo when tmp/ or packs/ cannot be listed.
  // The one list behind fsck, gc and the server's sweep, so that none of
  // them misses a kind of leftover the others remove.
  Result<std::vector<TempFile>> ListTemps() const;
  // Removes the temp files (ListTemps) older than `max_age_seconds`, an
  // orphan pack only past kOrphanPackAge too; returns how many it removed.
  // Goes on past a directory it cannot list. Safe beside writers, in this
  // process or another, whose files are younger.
  size_t CleanStaleTemps(int64_t max_age_seconds) const;

  // Sets aside every copy of `id` that fails its hash: a loose file moves to
  // `aside`, a packed copy's bytes are copied there and the copy quarantined
  // (reads and Has skip it). Returns a line for each copy set aside.
  Result<std::vector<std::string>> SetAsideDamaged(const ObjectId& id, const fs::path& aside) const;

  // The packed part, for fsck and repack.
  PackSet& packs() const { return *packs_; }
  // Bytes read from object and pack files since start-up (all threads).
  uint64_t bytes_read() const { return bytes_read_->load(); }

 private:
  friend class WriteBatch;
  explicit ObjectStore(fs::path root);
  Status RenameIntoPlace(const fs::path& temp, const ObjectId& id);
  Status StreamLoose(const ObjectId& id, const std::function<Status(std::string_view)>& sink,
                     bool* delivered) const;
  Status StreamCopies(const ObjectId& id, bool as_stored, const StoredSink& sink) const;
  bool HasLoose(const ObjectId& id, uint64_t* size = nullptr) const;
  // ListTemps going on past a directory it cannot list (the first such
  // error in *problem).
  std::vector<TempFile> TempsListed(Status* problem) const;

  fs::path root_;
  std::shared_ptr<PackSet> packs_;
  std::shared_ptr<std::atomic<uint64_t>> bytes_read_;
};

// Many objects made durable and visible together, in packs: added objects
// are appended to a pack file in tmp/ as they come (a blob of any size; past
// the store's maximum pack size a batch writes several pack files), and
// Commit makes them all durable and then visible at once, by one index whose
// rename is the commit point (store/pack_writer.h). So a crash at any point
// leaves every object of the batch visible or none, and no visible object can
// name one that is not (whatever order, or thread, added them). A batch
// destroyed uncommitted removes its files. Safe to use from many threads.
class WriteBatch {
 public:
  explicit WriteBatch(ObjectStore& store);
  WriteBatch(WriteBatch&&) noexcept;
  ~WriteBatch();

  // Adds a finished writer's object; Commit stores it even when the store
  // has it already (a newer copy, healing a damaged one). A second writer of
  // an ID already in the batch is dropped. `kind` is kept in the index as a
  // hint (fsck, repack).
  Status Add(ObjectWriter&& writer, ObjectKind kind = ObjectKind::kBlob);
  // Adds a finished writer's object stored as `frame`, a zstd frame of its
  // bytes that the caller verified (it decompresses to exactly them, with a
  // window of at most 1 MiB, declaring their size: what a pack receiver
  // checks), so that it is kept as it came instead of compressed again.
  Status AddFrame(ObjectWriter&& writer, ObjectKind kind, std::string_view frame);
  // Adds bytes unless the store or the batch has them already.
  Result<ObjectId> Put(std::string_view bytes, ObjectKind kind = ObjectKind::kBlob);
  // Adds bytes the caller hashed to `id` (ObjectId::Of) unless the batch has
  // them already (whether the store has them is the caller's test); true
  // when added. Reads re-hash, so wrong bytes could never be read as `id`.
  Result<bool> PutHashed(const ObjectId& id, std::string_view bytes, ObjectKind kind);
  bool Contains(const ObjectId& id) const;
  // The size of `id` when the batch has appended it (nullopt while another
  // thread is still adding it, or when the batch lacks it).
  std::optional<uint64_t> SizeOf(const ObjectId& id) const;
  bool HasOrPending(const ObjectId& id) const { return Contains(id) || store_->Has(id); }
  size_t size() const;
  const ObjectStore& store() const { return *store_; }
  Status Commit();

  // The largest pack file a commit writes (tests make it small).
  void set_max_pack_bytes(uint64_t n);

 private:
  struct State;
  Status Append(const ObjectId& id, ObjectKind kind, std::string_view bytes);
  ObjectStore* store_;
  std::unique_ptr<State> s_;
};

}  // namespace converge

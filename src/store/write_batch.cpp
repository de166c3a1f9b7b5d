// WriteBatch (store/cas.h): objects appended to packs as they come (zstd
// where it pays, store/compress.h), made visible at one index rename on
// Commit (store/pack_writer.h).
#include <fcntl.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <unordered_set>

#include "store/cas.h"
#include "store/compress.h"
#include "store/pack_set.h"
#include "store/pack_writer.h"

namespace converge {

struct WriteBatch::State {
  std::mutex mu;  // guards what follows; compression happens outside it
  // The IDs added are the writer's (PackWriter::Find: a few bytes each, no
  // set of them besides) and, while a thread compresses one, `pending`
  // (at most one per thread).
  std::unordered_set<ObjectId> pending;
  std::unique_ptr<PackWriter> writer;
  uint64_t max_pack = kDefaultMaxPackBytes;

  bool Has(const ObjectId& id) const {
    return pending.count(id) > 0 || (writer && writer->Find(id) != nullptr);
  }

  PackWriter& Writer(const fs::path& root) {
    if (!writer) writer = std::make_unique<PackWriter>(root, max_pack);
    return *writer;
  }
};

WriteBatch::WriteBatch(ObjectStore& store) : store_(&store), s_(std::make_unique<State>()) {}
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch::~WriteBatch() = default;  // an uncommitted PackWriter removes its files

void WriteBatch::set_max_pack_bytes(uint64_t n) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->max_pack = n;
}

bool WriteBatch::Contains(const ObjectId& id) const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->Has(id);
}

std::optional<uint64_t> WriteBatch::SizeOf(const ObjectId& id) const {
  std::lock_guard<std::mutex> lock(s_->mu);
  const PackEntry* e = s_->writer ? s_->writer->Find(id) : nullptr;
  return e ? std::optional<uint64_t>(e->raw) : std::nullopt;
}

size_t WriteBatch::size() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->pending.size() + (s_->writer ? s_->writer->count() : 0);
}

Status WriteBatch::Append(const ObjectId& id, ObjectKind kind, std::string_view bytes) {
  // Compressed in the calling thread (capture's are many), appended in turn.
  std::optional<std::string> frame = CompressForStorage(bytes);
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->pending.erase(id);  // the writer has it from here on (or the batch failed)
  PackWriter& w = s_->Writer(store_->root());
  if (frame) return w.Append(id, static_cast<uint8_t>(kind), Codec::kZstd, bytes.size(), *frame);
  return w.Append(id, static_cast<uint8_t>(kind), Codec::kRaw, bytes.size(), bytes);
}

Result<bool> WriteBatch::PutHashed(const ObjectId& id, std::string_view bytes, ObjectKind kind) {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->Has(id)) return false;
    s_->pending.insert(id);
  }
  RETURN_IF_ERROR(Append(id, kind, bytes));
  return true;
}

Result<ObjectId> WriteBatch::Put(std::string_view bytes, ObjectKind kind) {
  ObjectId id = ObjectId::Of(bytes);
  if (HasOrPending(id)) return id;
  RETURN_IF_ERROR(PutHashed(id, bytes, kind).status());
  return id;
}

Status WriteBatch::Add(ObjectWriter&& w, ObjectKind kind) {
  ObjectWriter writer = std::move(w);
  if (!writer.id_) return Internal("batch add of an unfinished object writer");
  ObjectId id = *writer.id_;
  if (!writer.spilled()) return PutHashed(id, writer.buf_, kind).status();
  // A large object: copied from its temp file into the pack, as it is.
  int fd = ::open(writer.temp_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("reopen '" + writer.temp_.string() + "'", errno);
  Fd owner(fd);
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->Has(id)) return Status::Ok();
  return s_->Writer(store_->root()).AppendFile(id, static_cast<uint8_t>(kind), fd, writer.size_);
}

Status WriteBatch::AddFrame(ObjectWriter&& w, ObjectKind kind, std::string_view frame) {
  ObjectWriter writer = std::move(w);
  if (!writer.id_) return Internal("batch add of an unfinished object writer");
  if (writer.size_ > kMaxCompressedObject || frame.size() > writer.size_ + kMaxFrameOverhead)
    return Internal("a frame outside the sizes a pack keeps compressed");
  ObjectId id = *writer.id_;
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->Has(id)) return Status::Ok();
  return s_->Writer(store_->root())
      .Append(id, static_cast<uint8_t>(kind), Codec::kZstd, writer.size_, frame);
}

Status WriteBatch::Commit() {
  std::unique_ptr<PackWriter> writer;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    writer = std::move(s_->writer);
    s_->pending.clear();
  }
  if (!writer || writer->count() == 0) return Status::Ok();
  ASSIGN_OR_RETURN(std::string index, writer->Commit());
  return store_->packs().Adopt(index);
}

}  // namespace converge

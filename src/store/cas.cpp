#include "store/cas.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <utility>

#include "base/hex.h"

namespace converge {

namespace {
constexpr size_t kIoChunk = 1 << 20;
constexpr size_t kWriteBuffer = 256 << 10;

Status SyncFs(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open '" + dir.string() + "'", errno);
  Fd owner(fd);
  if (::syncfs(fd) != 0) return ErrnoStatus("syncfs '" + dir.string() + "'", errno);
  return Status::Ok();
}
}  // namespace

ObjectWriter::ObjectWriter(ObjectWriter&& o) noexcept
    : temp_(std::exchange(o.temp_, {})),
      fd_(std::move(o.fd_)),
      pending_(std::move(o.pending_)),
      hasher_(o.hasher_),
      size_(o.size_),
      id_(o.id_) {}

ObjectWriter::~ObjectWriter() {
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

Status ObjectWriter::Append(std::string_view data) {
  if (id_) return Internal("append to a finished object writer");
  hasher_.Update(data);
  size_ += data.size();
  if (pending_.size() + data.size() > kWriteBuffer) RETURN_IF_ERROR(Flush());
  if (data.size() >= kWriteBuffer) return WriteAll(fd_.get(), data, "'" + temp_.string() + "'");
  pending_.append(data);
  return Status::Ok();
}

Status ObjectWriter::Flush() {
  Status st = WriteAll(fd_.get(), pending_, "'" + temp_.string() + "'");
  pending_.clear();
  return st;
}

Result<ObjectId> ObjectWriter::Finish(const std::optional<ObjectId>& expected) {
  if (id_) return *id_;
  ObjectId id = hasher_.Finish();
  RETURN_IF_ERROR(Flush());
  std::string().swap(pending_);
  if (::close(fd_.release()) != 0) return ErrnoStatus("close '" + temp_.string() + "'", errno);
  if (expected && *expected != id) {
    ::unlink(temp_.c_str());
    temp_.clear();
    return Corrupt("object " + expected->hex() + " does not match its content (which hashes to " +
                   id.hex() + ")");
  }
  id_ = id;
  return id;
}

ObjectStore::ObjectStore(fs::path root)
    : root_(std::move(root)), bytes_read_(std::make_shared<std::atomic<uint64_t>>(0)) {}

Result<ObjectStore> ObjectStore::Open(const fs::path& root) {
  RETURN_IF_ERROR(MakeDirs(root / "tmp"));
  fs::path objects = root / "objects";
  if (!fs::exists(objects / "ff")) {
    RETURN_IF_ERROR(MakeDirs(objects));
    for (int i = 0; i < 256; i++) {
      unsigned char b = static_cast<unsigned char>(i);
      fs::path shard = objects / ToHex(&b, 1);
      if (::mkdir(shard.c_str(), 0755) != 0 && errno != EEXIST)
        return ErrnoStatus("create '" + shard.string() + "'", errno);
    }
  }
  return ObjectStore(root);
}

fs::path ObjectStore::PathOf(const ObjectId& id) const {
  std::string hex = id.hex();
  return root_ / "objects" / hex.substr(0, 2) / hex;
}

bool ObjectStore::Has(const ObjectId& id) const {
  struct stat st;
  return ::stat(PathOf(id).c_str(), &st) == 0;
}

Result<uint64_t> ObjectStore::SizeOf(const ObjectId& id) const {
  struct stat st;
  if (::stat(PathOf(id).c_str(), &st) != 0) return ErrnoStatus("object " + id.hex(), errno);
  return static_cast<uint64_t>(st.st_size);
}

Result<ObjectWriter> ObjectStore::NewWriter() const {
  fs::path temp = root_ / "tmp" / TempName("obj");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create '" + temp.string() + "'", errno);
  return ObjectWriter(temp, Fd(fd));
}

Status ObjectStore::RenameIntoPlace(const fs::path& temp, const ObjectId& id) {
  // The temp holds bytes verified to hash to `id`: it replaces whatever file
  // is there, so a damaged copy (same size or not) is healed, and the work is
  // the same whether or not the object was stored before.
  if (::rename(temp.c_str(), PathOf(id).c_str()) != 0)
    return ErrnoStatus("store object " + id.hex(), errno);
  return Status::Ok();
}

Status ObjectStore::Install(ObjectWriter&& w) {
  ObjectWriter writer = std::move(w);
  if (!writer.id_) return Internal("install of an unfinished object writer");
  {
    int fd = ::open(writer.temp_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("reopen '" + writer.temp_.string() + "'", errno);
    Fd owner(fd);
    if (::fsync(fd) != 0) return ErrnoStatus("fsync object " + writer.id_->hex(), errno);
  }
  RETURN_IF_ERROR(RenameIntoPlace(writer.temp_, *writer.id_));
  writer.temp_.clear();
  return FsyncDir(PathOf(*writer.id_).parent_path());
}

Result<ObjectId> ObjectStore::Put(std::string_view bytes) {
  ObjectId id = ObjectId::Of(bytes);
  if (Has(id)) return id;
  ASSIGN_OR_RETURN(ObjectWriter w, NewWriter());
  RETURN_IF_ERROR(w.Append(bytes));
  RETURN_IF_ERROR(w.Finish(id).status());
  RETURN_IF_ERROR(Install(std::move(w)));
  return id;
}

Status ObjectStore::PutExpected(const ObjectId& id, std::string_view bytes) {
  ObjectId actual = ObjectId::Of(bytes);
  if (actual != id)
    return Corrupt("object " + id.hex() + " does not match its content (which hashes to " +
                   actual.hex() + ")");
  return Put(bytes).status();
}

Status ObjectStore::Stream(const ObjectId& id,
                           const std::function<Status(std::string_view)>& sink) const {
  Result<Fd> fd = OpenRead(PathOf(id));
  if (!fd.ok()) {
    if (fd.status().code() == Code::kNotFound)
      return NotFound("object " + id.hex() + " is not in the store");
    return fd.status();
  }
  // Most objects are small: a buffer the object's size (plus one byte, to
  // see the end), not zeroed, instead of kIoChunk zeroed for each one.
  struct stat st;
  size_t want = ::fstat(fd->get(), &st) == 0 ? static_cast<size_t>(st.st_size) + 1 : kIoChunk;
  size_t cap = std::clamp<size_t>(want, 1, kIoChunk);
  // Each piece goes to the sink only once the next read shows it is not the
  // last; the last goes only after the hash matched. So a sink never holds a
  // whole damaged object, and a small one (one read) is verified before it
  // sees a byte.
  std::unique_ptr<char[]> cur = std::make_unique_for_overwrite<char[]>(cap), held;
  size_t held_n = 0;
  Hasher h;
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, ReadSome(fd->get(), cur.get(), cap, "object " + id.hex()));
    if (n == 0) break;
    bytes_read_->fetch_add(n);
    h.Update(std::string_view(cur.get(), n));
    if (held_n > 0) RETURN_IF_ERROR(sink(std::string_view(held.get(), held_n)));
    if (!held) held = std::make_unique_for_overwrite<char[]>(cap);
    std::swap(cur, held);
    held_n = n;
  }
  if (h.Finish() != id)
    return Corrupt("object " + id.hex() + " is corrupt: its bytes do not match its ID (" +
                   PathOf(id).string() + "); run 'converge fsck'");
  if (held_n > 0) RETURN_IF_ERROR(sink(std::string_view(held.get(), held_n)));
  return Status::Ok();
}

Result<std::string> ObjectStore::Read(const ObjectId& id, uint64_t max_size) const {
  std::string out;
  RETURN_IF_ERROR(Stream(id, [&](std::string_view piece) {
    if (out.size() + piece.size() > max_size)
      return TooLarge("object " + id.hex() + " is larger than " + std::to_string(max_size) +
                      " bytes");
    out.append(piece);
    return Status::Ok();
  }));
  return out;
}

Status ObjectStore::Verify(const ObjectId& id) const {
  return Stream(id, [](std::string_view) { return Status::Ok(); });
}

Status ObjectStore::ForEach(const std::function<Status(const ObjectId&)>& fn) const {
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(root_ / "objects", ec)) {
    for (const auto& f : fs::directory_iterator(shard.path(), ec)) {
      auto id = ObjectId::FromHex(f.path().filename().string());
      if (id) RETURN_IF_ERROR(fn(*id));
    }
    if (ec) return IoError("list " + shard.path().string() + ": " + ec.message());
  }
  if (ec) return IoError("list " + (root_ / "objects").string() + ": " + ec.message());
  return Status::Ok();
}

void ObjectStore::CleanStaleTemps(int64_t max_age_seconds) const {
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (const auto& f : fs::directory_iterator(root_ / "tmp", ec)) {
    auto age = now - f.last_write_time(ec);
    if (!ec && age > std::chrono::seconds(max_age_seconds)) fs::remove(f.path(), ec);
  }
}

WriteBatch::~WriteBatch() {
  for (const Pending& p : pending_) ::unlink(p.temp.c_str());
}

Status WriteBatch::Add(ObjectWriter&& w, ObjectKind kind) {
  ObjectWriter writer = std::move(w);
  if (!writer.id_) return Internal("batch add of an unfinished object writer");
  if (!ids_.insert(*writer.id_).second) return Status::Ok();  // in the batch already: temp dropped
  pending_.push_back({writer.temp_, *writer.id_, kind});
  writer.temp_.clear();
  return Status::Ok();
}

Result<ObjectId> WriteBatch::Put(std::string_view bytes, ObjectKind kind) {
  ObjectId id = ObjectId::Of(bytes);
  if (HasOrPending(id)) return id;
  ASSIGN_OR_RETURN(ObjectWriter w, store_->NewWriter());
  RETURN_IF_ERROR(w.Append(bytes));
  RETURN_IF_ERROR(w.Finish(id).status());
  RETURN_IF_ERROR(Add(std::move(w), kind));
  return id;
}

Status WriteBatch::Commit() {
  if (pending_.empty()) return Status::Ok();
  // Referenced kinds before the kinds that reference them; within a kind the
  // caller's order (leaves first for manifests).
  auto rank = [](ObjectKind k) {
    switch (k) {
      case ObjectKind::kBlob:
        return 0;
      case ObjectKind::kChunkList:
        return 1;
      case ObjectKind::kManifest:
        return 2;
      case ObjectKind::kSnap:
        return 3;
    }
    return 4;
  };
  std::stable_sort(pending_.begin(), pending_.end(),
                   [&](const Pending& a, const Pending& b) { return rank(a.kind) < rank(b.kind); });
  RETURN_IF_ERROR(SyncFs(store_->root() / "tmp"));
  size_t done = 0;
  Status st;
  for (; done < pending_.size(); done++) {
    st = store_->RenameIntoPlace(pending_[done].temp, pending_[done].id);
    if (!st.ok()) break;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(done));
  ids_.clear();
  RETURN_IF_ERROR(st);
  return SyncFs(store_->root() / "objects");
}

}  // namespace converge

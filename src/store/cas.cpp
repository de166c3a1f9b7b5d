#include "store/cas.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <unordered_set>
#include <utility>

#include "base/hex.h"
#include "store/pack_set.h"

namespace converge {

namespace {
constexpr size_t kIoChunk = 1 << 20;
}  // namespace

ObjectStore::ObjectStore(fs::path root)
    : root_(std::move(root)),
      packs_(std::make_shared<PackSet>(root_ / "packs")),
      bytes_read_(std::make_shared<std::atomic<uint64_t>>(0)) {}

Result<ObjectStore> ObjectStore::Open(const fs::path& root) {
  RETURN_IF_ERROR(MakeDirs(root / "tmp"));
  RETURN_IF_ERROR(MakeDirs(root / "packs"));
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
  ObjectStore store(root);
  RETURN_IF_ERROR(store.packs_->Refresh());
  return store;
}

fs::path ObjectStore::PathOf(const ObjectId& id) const {
  std::string hex = id.hex();
  return root_ / "objects" / hex.substr(0, 2) / hex;
}

bool ObjectStore::HasLoose(const ObjectId& id, uint64_t* size) const {
  struct stat st;
  if (::stat(PathOf(id).c_str(), &st) != 0) return false;
  if (size) *size = static_cast<uint64_t>(st.st_size);
  return true;
}

bool ObjectStore::Has(const ObjectId& id) const {
  if (packs_->Has(id) || HasLoose(id)) return true;
  return packs_->Changed() && packs_->Refresh().ok() && packs_->Has(id);
}

Result<uint64_t> ObjectStore::SizeOf(const ObjectId& id) const {
  ASSIGN_OR_RETURN(Location where, Locate(id));
  return where.size;
}

Result<ObjectStore::Location> ObjectStore::Locate(const ObjectId& id) const {
  for (int attempt = 0; attempt < 2; attempt++) {
    std::vector<PackSet::Copy> copies = packs_->Find(id);
    if (!copies.empty()) {
      const PackSet::Copy& c = copies.front();
      if (c.entry.pack >= c.index->packs().size())
        return Corrupt("pack index " + c.index->name() + " names no pack for object " + id.hex() +
                       ": run 'converge fsck'");
      return Location{packs_->dir() / c.index->packs()[c.entry.pack],
                      c.entry.offset + kPackEntryHeaderBytes,
                      c.entry.stored,
                      c.entry.raw,
                      true,
                      c.entry.codec == Codec::kZstd};
    }
    uint64_t size = 0;
    if (HasLoose(id, &size)) return Location{PathOf(id), 0, size, size, false, false};
    if (attempt == 0) RETURN_IF_ERROR(packs_->Refresh());
  }
  return NotFound("object " + id.hex() + " is not in the store");
}

Result<ObjectWriter> ObjectStore::NewWriter() const {
  return ObjectWriter(root_ / "tmp");
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
  RETURN_IF_ERROR(writer.ToFile());
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

Status ObjectStore::StreamLoose(const ObjectId& id,
                                const std::function<Status(std::string_view)>& sink,
                                bool* delivered) const {
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
    if (held_n > 0) {
      *delivered = true;
      RETURN_IF_ERROR(sink(std::string_view(held.get(), held_n)));
    }
    if (!held) held = std::make_unique_for_overwrite<char[]>(cap);
    std::swap(cur, held);
    held_n = n;
  }
  if (h.Finish() != id)
    return Corrupt("object " + id.hex() + " is corrupt: its bytes do not match its ID (" +
                   PathOf(id).string() + "); run 'converge fsck'");
  if (held_n > 0) {
    *delivered = true;
    RETURN_IF_ERROR(sink(std::string_view(held.get(), held_n)));
  }
  return Status::Ok();
}

Status ObjectStore::Stream(const ObjectId& id,
                           const std::function<Status(std::string_view)>& sink) const {
  return StreamCopies(id, false,
                      [&](const StoredForm&, std::string_view piece) { return sink(piece); });
}

Status ObjectStore::StreamStored(const ObjectId& id, const StoredSink& sink) const {
  return StreamCopies(id, true, sink);
}

Status ObjectStore::StreamCopies(const ObjectId& id, bool as_stored, const StoredSink& sink) const {
  auto nothing = [](std::string_view) { return Status::Ok(); };
  bool delivered = false;
  for (int attempt = 0; attempt < 2; attempt++) {
    Status damage;  // the first copy found damaged
    std::vector<PackSet::Copy> copies = packs_->Find(id);
    std::optional<bool> loose;
    for (const PackSet::Copy& c : copies) {
      bool big = c.entry.raw > kIoChunk;  // read in pieces (compressed or not)
      if (big && (copies.size() > 1 || (loose ? *loose : *(loose = HasLoose(id))))) {
        // Another copy could stand in: check this one before the sink sees it.
        bool seen = false;
        Status v = packs_->StreamCopy(c, id, nothing, &seen, *bytes_read_);
        if (!v.ok()) {
          if (damage.ok() && v.code() != Code::kNotFound) damage = v;
          continue;
        }
      }
      bool frame = as_stored && c.entry.codec == Codec::kZstd;
      StoredForm form{frame, frame ? c.entry.stored : c.entry.raw};
      auto to_sink = [&](std::string_view piece) { return sink(form, piece); };
      Status st = frame ? packs_->StreamFrameCopy(c, id, to_sink, &delivered, *bytes_read_)
                        : packs_->StreamCopy(c, id, to_sink, &delivered, *bytes_read_);
      if (st.ok() || delivered) return st;
      if (damage.ok() && st.code() != Code::kNotFound) damage = st;  // NotFound: repacked away
    }
    StoredForm form{false, 0};
    if (as_stored) HasLoose(id, &form.stored);
    Status st = StreamLoose(
        id, [&](std::string_view piece) { return sink(form, piece); }, &delivered);
    if (st.ok() || delivered) return st;
    if (st.code() != Code::kNotFound) return damage.ok() ? st : damage;
    if (!damage.ok()) return damage;
    if (attempt == 0) RETURN_IF_ERROR(packs_->Refresh());
  }
  return NotFound("object " + id.hex() + " is not in the store");
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

Status ObjectStore::VerifyLoose(const ObjectId& id) const {
  bool seen = false;
  return StreamLoose(
      id, [](std::string_view) { return Status::Ok(); }, &seen);
}

Status ObjectStore::ForEach(const std::function<Status(const ObjectId&)>& fn) const {
  std::unordered_set<ObjectId> seen;
  std::set<std::pair<std::string, ObjectId>> quarantine = packs_->Quarantine();
  for (const auto& idx : packs_->Indexes())
    for (size_t i = 0; i < idx->size(); i++) {
      ObjectId id = idx->entry(i).id;
      if (quarantine.count({idx->name(), id}) || !seen.insert(id).second) continue;
      RETURN_IF_ERROR(fn(id));
    }
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(root_ / "objects", ec)) {
    for (const auto& f : fs::directory_iterator(shard.path(), ec)) {
      auto id = ObjectId::FromHex(f.path().filename().string());
      if (id && seen.insert(*id).second) RETURN_IF_ERROR(fn(*id));
    }
    if (ec) return IoError("list " + shard.path().string() + ": " + ec.message());
  }
  if (ec) return IoError("list " + (root_ / "objects").string() + ": " + ec.message());
  return Status::Ok();
}

int64_t TempFile::RemovableAt(int64_t age) const {
  return orphan_pack ? std::max(age, kOrphanPackAge) : age;
}

std::vector<TempFile> ObjectStore::TempsListed(Status* problem) const {
  std::vector<TempFile> out;
  auto now = fs::file_time_type::clock::now();
  auto note = [&](const fs::path& p, bool orphan) {
    std::error_code ec;
    TempFile t;
    t.path = p;
    t.orphan_pack = orphan;
    if (fs::is_regular_file(p, ec)) t.size = fs::file_size(p, ec);
    auto written = fs::last_write_time(p, ec);
    if (!ec)
      t.age_seconds = std::chrono::duration_cast<std::chrono::seconds>(now - written).count();
    out.push_back(std::move(t));
  };
  std::error_code ec;
  fs::path tmp = root_ / "tmp";
  for (const auto& f : fs::directory_iterator(tmp, ec)) note(f.path(), false);
  if (ec && ec != std::errc::no_such_file_or_directory)
    *problem = IoError("list '" + tmp.string() + "': " + ec.message());
  for (const fs::path& p : AtomicWriteTemps(root_)) note(p, false);
  Result<std::vector<fs::path>> orphans = FindOrphanPacks(packs_->dir());
  if (!orphans.ok() && problem->ok()) *problem = orphans.status();
  if (orphans.ok())
    for (const fs::path& p : *orphans) note(p, true);
  return out;
}

Result<std::vector<TempFile>> ObjectStore::ListTemps() const {
  Status problem;
  std::vector<TempFile> temps = TempsListed(&problem);
  if (!problem.ok()) return problem;
  return temps;
}

size_t ObjectStore::CleanStaleTemps(int64_t max_age_seconds) const {
  Status problem;  // a directory it cannot list: the others are still cleaned
  size_t removed = 0;
  for (const TempFile& t : TempsListed(&problem)) {
    std::error_code ec;
    if (t.age_seconds > t.RemovableAt(max_age_seconds) && fs::remove(t.path, ec)) removed++;
  }
  return removed;
}

Result<std::vector<std::string>> ObjectStore::SetAsideDamaged(const ObjectId& id,
                                                              const fs::path& aside) const {
  std::vector<std::string> done;
  auto nothing = [](std::string_view) { return Status::Ok(); };
  auto free_name = [&](const std::string& base) {
    fs::path to = aside / base;
    std::error_code ec;
    for (int n = 1; fs::exists(to, ec); n++) to = aside / (base + "." + std::to_string(n));
    return to;
  };
  std::vector<std::pair<std::string, ObjectId>> quarantine;
  for (const PackSet::Copy& c : packs_->Find(id)) {
    bool seen = false;
    Status st = packs_->StreamCopy(c, id, nothing, &seen, *bytes_read_);
    if (st.ok() || st.code() == Code::kNotFound) continue;
    RETURN_IF_ERROR(MakeDirs(aside, 0700));
    fs::path to = free_name(id.hex() + ".packed");
    Result<std::string> bytes = packs_->ReadStored(c);
    if (bytes.ok()) RETURN_IF_ERROR(WriteFileAtomic(to, *bytes, 0444));
    quarantine.push_back({c.index->name(), id});
    done.push_back("set aside the damaged copy of object " + id.hex() + " in " + c.Where() +
                   (bytes.ok() ? " (its bytes are in " + to.string() + ")" : ""));
  }
  if (!quarantine.empty()) RETURN_IF_ERROR(packs_->AddToQuarantine(quarantine));
  bool seen = false;
  Status loose = StreamLoose(id, nothing, &seen);
  if (!loose.ok() && loose.code() != Code::kNotFound) {
    RETURN_IF_ERROR(MakeDirs(aside, 0700));
    fs::path to = free_name(id.hex());
    std::error_code ec;
    fs::rename(PathOf(id), to, ec);
    if (ec) return IoError("move damaged object " + id.hex() + " aside: " + ec.message());
    done.push_back("moved damaged object " + id.hex() + " to " + to.string());
  }
  return done;
}

}  // namespace converge

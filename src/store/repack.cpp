#include "store/repack.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <set>
#include <unordered_set>
#include <vector>

#include "store/pack_set.h"

namespace converge {

namespace {

Result<Fd> TakeRepackLock(const fs::path& root) {
  fs::path path = root / "repack.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open '" + path.string() + "'", errno);
  Fd owner(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Conflict("another repack of " + root.string() + " is running; try again when it ends");
    return ErrnoStatus("lock '" + path.string() + "'", errno);
  }
  return owner;
}

uint64_t FileBytes(const fs::path& p) {
  std::error_code ec;
  uint64_t n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// The loose objects of objects/ (well-named files in the right shard).
std::vector<ObjectId> ListLoose(const ObjectStore& store) {
  std::vector<ObjectId> out;
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(store.root() / "objects", ec)) {
    std::error_code sec;
    for (const auto& f : fs::directory_iterator(shard.path(), sec)) {
      std::optional<ObjectId> id = ObjectId::FromHex(f.path().filename().string());
      if (id && store.PathOf(*id) == f.path()) out.push_back(*id);
    }
  }
  return out;
}

// The pack files some index in `dir` names now; nullopt when an index cannot
// be read (then no pack may be taken for unnamed).
std::optional<std::set<std::string>> NamedPacks(const fs::path& dir) {
  std::set<std::string> named;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    std::string name = f.path().filename().string();
    if (!IsPackFileName(name, ".idx")) continue;
    Result<std::shared_ptr<const PackIndex>> idx = PackIndex::Load(dir, name);
    if (!idx.ok()) {
      if (idx.status().code() == Code::kNotFound) continue;
      return std::nullopt;
    }
    named.insert((*idx)->packs().begin(), (*idx)->packs().end());
  }
  if (ec) return std::nullopt;
  return named;
}

void Step(const char* name) {
  if (pack_commit_step_hook) pack_commit_step_hook(name);
}

}  // namespace

Result<RepackStats> Repack(ObjectStore& store, const RepackOptions& options) {
  ASSIGN_OR_RETURN(Fd lock, TakeRepackLock(store.root()));
  PackSet& packs = store.packs();
  RETURN_IF_ERROR(packs.Refresh());
  RepackStats stats;
  std::vector<std::shared_ptr<const PackIndex>> fold;
  for (const auto& idx : packs.Indexes()) {
    uint64_t bytes = 0;
    for (const std::string& p : idx->packs()) bytes += FileBytes(packs.dir() / p);
    if (options.keep_packs_from == 0 || bytes < options.keep_packs_from) {
      fold.push_back(idx);
      stats.bytes_before += bytes + idx->file_bytes();
    } else {
      stats.packs_kept++;
    }
  }
  std::vector<ObjectId> loose = ListLoose(store);
  if (loose.empty() && fold.size() <= 1 && packs.Quarantine().empty()) return stats;

  // Every object folded, once, read from any intact copy and re-hashed.
  std::set<std::pair<std::string, ObjectId>> quarantine = packs.Quarantine();
  std::unordered_set<ObjectId> seen;
  WriteBatch batch(store);
  batch.set_max_pack_bytes(options.max_pack_bytes);
  auto carry = [&](const ObjectId& id, uint8_t kind) -> Status {
    if (!seen.insert(id).second) return Status::Ok();
    ASSIGN_OR_RETURN(ObjectWriter w, store.NewWriter());
    Status st = store.Stream(id, [&](std::string_view piece) { return w.Append(piece); });
    if (!st.ok())
      return st.With(
          "repack stopped before removing anything: run 'converge fsck' (--fix "
          "sets damaged objects aside)");
    RETURN_IF_ERROR(w.Finish(id).status());
    stats.objects++;
    ObjectKind k = kind <= static_cast<uint8_t>(ObjectKind::kSnap) ? static_cast<ObjectKind>(kind)
                                                                   : ObjectKind::kBlob;
    return batch.Add(std::move(w), k);
  };
  for (const auto& idx : fold)
    for (size_t i = 0; i < idx->size(); i++) {
      PackEntry e = idx->entry(i);
      if (!quarantine.count({idx->name(), e.id})) RETURN_IF_ERROR(carry(e.id, e.kind));
    }
  for (const ObjectId& id : loose) {
    stats.bytes_before += FileBytes(store.PathOf(id));
    RETURN_IF_ERROR(carry(id, kUnknownKind));
  }
  if (stats.objects > 0) {
    RETURN_IF_ERROR(batch.Commit());
    stats.index = packs.Indexes().front()->name();  // Commit adopted it first
    for (const std::string& p : packs.Indexes().front()->packs())
      stats.bytes_after += FileBytes(packs.dir() / p);
    stats.bytes_after += packs.Indexes().front()->file_bytes();
  }

  // Durable from here on: the old files go, indexes first.
  std::set<std::string> folded_packs;
  for (const auto& idx : fold) {
    if (::unlink((packs.dir() / idx->name()).c_str()) != 0 && errno != ENOENT)
      return ErrnoStatus("remove '" + (packs.dir() / idx->name()).string() + "'", errno);
    stats.indexes_folded++;
    folded_packs.insert(idx->packs().begin(), idx->packs().end());
  }
  RETURN_IF_ERROR(FsyncDir(packs.dir()));
  Step("repack-indexes-removed");
  if (std::optional<std::set<std::string>> named = NamedPacks(packs.dir())) {
    for (const std::string& p : folded_packs)
      if (!named->count(p) && ::unlink((packs.dir() / p).c_str()) == 0) stats.packs_removed++;
    std::set<std::string> live;
    for (const auto& f : fs::directory_iterator(packs.dir()))
      if (IsPackFileName(f.path().filename().string(), ".idx"))
        live.insert(f.path().filename().string());
    RETURN_IF_ERROR(packs.PruneQuarantine(live));
  }
  RETURN_IF_ERROR(FsyncDir(packs.dir()));
  Step("repack-packs-removed");
  for (const ObjectId& id : loose)
    if (::unlink(store.PathOf(id).c_str()) == 0) stats.loose_folded++;
  RETURN_IF_ERROR(packs.Refresh());
  return stats;
}

}  // namespace converge

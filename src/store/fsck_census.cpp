// The census of store/fsck.h: every copy of every object re-hashed (loose
// files, packed entries), the pack indexes and packs checked, and the temp
// files a killed writer leaves.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>

#include "base/parallel.h"
#include "store/fsck.h"
#include "store/pack_set.h"

namespace converge {

namespace {

// One copy of an object to re-hash: a loose file or a packed entry.
struct CopyCheck {
  ObjectId id;
  uint64_t size = 0;  // the object's bytes (a loose file's size)
  std::string where;  // for problems
  std::optional<PackSet::Copy> packed;
};

// Lists objects/: object files go to `copies`, anything else is reported.
Status ListLooseCopies(const ObjectStore& store, std::vector<CopyCheck>& copies,
                       FsckReport& report) {
  std::error_code ec;
  fs::path objects = store.root() / "objects";
  for (const auto& shard : fs::directory_iterator(objects, ec)) {
    std::string shard_name = shard.path().filename().string();
    if (!shard.is_directory(ec) || shard.is_symlink(ec) || shard_name.size() != 2 ||
        !ObjectId::FromHex(shard_name + std::string(62, '0'))) {
      report.Warn(shard.path().string(), "stray entry in the object store (converge ignores it)");
      continue;
    }
    std::error_code sec;
    for (const auto& f : fs::directory_iterator(shard.path(), sec)) {
      std::string name = f.path().filename().string();
      std::optional<ObjectId> id = ObjectId::FromHex(name);
      if (name.size() == 67 && name.ends_with(".gc") && ObjectId::FromHex(name.substr(0, 64))) {
        report.Warn(f.path().string(),
                    "an object file a killed 'converge gc' was removing (store/gc.h): the next "
                    "gc puts it back under its name and decides again");
        continue;
      }
      if (!id || !f.is_regular_file(sec) || f.is_symlink(sec)) {
        report.Warn(f.path().string(), "stray entry in the object store (converge ignores it)");
        continue;
      }
      if (name.compare(0, 2, shard_name) != 0) {
        report.Warn(f.path().string(), "object file in the wrong shard: converge looks for it in " +
                                           store.PathOf(*id).string());
        continue;
      }
      uint64_t size = f.file_size(sec);
      copies.push_back({*id, sec ? 0 : size, f.path().string(), std::nullopt});
    }
    if (sec) return IoError("list '" + shard.path().string() + "': " + sec.message());
  }
  if (ec) return IoError("list '" + objects.string() + "': " + ec.message());
  return Status::Ok();
}

// Walks a pack's entry headers (not its objects' bytes) and warns about
// entries no index names and a tail that is not whole entries: bytes no
// read ever uses, never damage to an object.
void WalkPack(const fs::path& path, const std::set<uint64_t>& indexed, FsckReport& report) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // the index check names a missing pack
  Fd owner(fd);
  uint64_t size = static_cast<uint64_t>(::lseek(fd, 0, SEEK_END));
  char magic[8];
  if (::pread(fd, magic, sizeof magic, 0) != 8 || kPackFileMagic != std::string_view(magic, 8)) {
    report.Warn(path.string(),
                "not a converge pack (wrong magic); its index entries are checked "
                "one by one");
    return;
  }
  uint64_t at = kPackFileMagic.size(), unindexed = 0;
  char head[kPackEntryHeaderBytes];
  while (at < size) {
    Result<PackEntryHeader> h =
        ::pread(fd, head, sizeof head, static_cast<off_t>(at)) == sizeof head
            ? DecodeEntryHeader(std::string_view(head, sizeof head))
            : Result<PackEntryHeader>(Corrupt("cut short"));
    if (!h.ok() || h->stored > size - at - kPackEntryHeaderBytes) {
      report.Warn(path.string(), "its last " + std::to_string(size - at) + " bytes (from byte " +
                                     std::to_string(at) +
                                     ") are not a whole object: no read uses them");
      break;
    }
    if (!indexed.count(at)) unindexed++;
    at += kPackEntryHeaderBytes + h->stored;
  }
  if (unindexed > 0)
    report.Warn(path.string(), "holds " + std::to_string(unindexed) +
                                   " objects no index names: no read uses them (a repack "
                                   "drops them)");
}

// Checks packs/ and lists every packed copy (but quarantined ones).
Status ListPackedCopies(const ObjectStore& store, std::vector<CopyCheck>& copies,
                        FsckReport& report) {
  fs::path dir = store.packs().dir();
  std::vector<std::string> indexes;
  std::set<std::string> packs;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    std::string name = f.path().filename().string();
    if (IsPackFileName(name, ".idx"))
      indexes.push_back(name);
    else if (IsPackFileName(name, ".pack"))
      packs.insert(name);
    else if (name != "quarantine" && !(name.starts_with(".quarantine.") && name.ends_with(".tmp")))
      report.Warn(f.path().string(), "stray entry in the pack directory (converge ignores it)");
  }
  if (ec) return IoError("list '" + dir.string() + "': " + ec.message());
  std::set<std::pair<std::string, ObjectId>> quarantine = store.packs().Quarantine();
  std::map<std::string, std::set<uint64_t>> indexed;  // by pack: offsets indexes name
  for (const std::string& name : indexes) {
    Result<std::shared_ptr<const PackIndex>> idx = PackIndex::Load(dir, name);
    if (!idx.ok()) {
      if (idx.status().code() != Code::kNotFound)  // else removed by a repack meanwhile
        report.Error("pack index " + name, "unreadable: " + idx.status().message());
      continue;
    }
    const PackIndex& index = **idx;
    Status whole = index.CheckWhole();
    if (!whole.ok()) report.Error("pack index " + name, whole.message());
    std::vector<uint64_t> lost(index.packs().size(), 0);
    for (size_t i = 0; i < index.size(); i++) {
      PackEntry e = index.entry(i);
      if (e.pack >= index.packs().size()) continue;  // CheckWhole reported it
      const std::string& pack = index.packs()[e.pack];
      if (!packs.count(pack)) {
        lost[e.pack]++;
        continue;
      }
      indexed[pack].insert(e.offset);
      if (quarantine.count({name, e.id})) continue;
      PackSet::Copy c{*idx, e};
      copies.push_back({e.id, e.raw, c.Where(), c});
    }
    for (size_t p = 0; p < lost.size(); p++)
      if (lost[p] > 0)
        report.Error("pack index " + name,
                     "names pack " + index.packs()[p] + ", which is missing: the " +
                         std::to_string(lost[p]) + " object copies it held are lost");
  }
  for (const auto& [pack, offsets] : indexed) WalkPack(dir / pack, offsets, report);
  return Status::Ok();
}

}  // namespace

std::optional<uint64_t> ObjectCensus::SizeOf(const ObjectStore& store, const ObjectId& id) const {
  auto it = sizes.find(id);
  if (it != sizes.end()) return it->second;
  if (damaged.count(id)) return std::nullopt;
  Result<uint64_t> size = store.SizeOf(id);
  if (!size.ok() || !store.Verify(id).ok()) return std::nullopt;
  return *size;
}

Result<ObjectCensus> TakeCensus(const ObjectStore& store, FsckReport& report) {
  // Packs first: a repack running meanwhile removes loose files only after
  // its pack is durable, so an object is in one listing or the other.
  RETURN_IF_ERROR(store.packs().Refresh());
  std::vector<CopyCheck> copies;
  RETURN_IF_ERROR(ListPackedCopies(store, copies, report));
  RETURN_IF_ERROR(ListLooseCopies(store, copies, report));
  // Biggest first, so one huge object does not finish alone at the end.
  std::sort(copies.begin(), copies.end(),
            [](const CopyCheck& a, const CopyCheck& b) { return a.size > b.size; });
  std::vector<Status> results(copies.size());
  std::atomic<uint64_t> read{0};
  RETURN_IF_ERROR(ParallelFor(copies.size(), WorkerCount(), [&](size_t i) {
    const CopyCheck& c = copies[i];
    bool seen = false;
    results[i] =
        c.packed ? store.packs().StreamCopy(
                       *c.packed, c.id, [](std::string_view) { return Status::Ok(); }, &seen, read)
                 : store.VerifyLoose(c.id);
    return Status::Ok();
  }));
  ObjectCensus census;
  std::unordered_set<ObjectId> checked;
  for (size_t i = 0; i < copies.size(); i++)
    if (results[i].ok()) census.sizes.emplace(copies[i].id, copies[i].size);
  for (size_t i = 0; i < copies.size(); i++) {
    const CopyCheck& c = copies[i];
    const Status& st = results[i];
    if (st.code() == Code::kNotFound) continue;  // removed since it was listed: nothing to check
    if (checked.insert(c.id).second) report.objects_checked++;
    report.bytes_checked += c.size;
    if (st.ok()) continue;
    std::string what = st.code() == Code::kCorrupt
                           ? "damaged: its " + std::to_string(c.size) +
                                 " bytes do not hash to its ID (" + c.where + ")"
                           : "unreadable: " + st.message();
    if (census.sizes.count(c.id)) {
      census.shadowed.insert(c.id);
      report.Warn("object " + c.id.hex(), "a copy is " + what + "; another copy is intact " +
                                              "(the fix sets the damaged one aside)");
      continue;
    }
    census.damaged.insert(c.id);
    report.Error("object " + c.id.hex(), what);
  }
  return census;
}

void CheckTemps(const std::vector<TempFile>& temps, bool remove, int64_t remove_age_seconds,
                const std::string& hint, FsckReport& report) {
  for (const TempFile& t : temps) {
    bool orphan = t.orphan_pack;
    if (remove && t.age_seconds >= t.RemovableAt(remove_age_seconds)) {
      std::error_code ec;
      fs::remove_all(t.path, ec);
      if (!ec) {
        report.fixed.push_back("removed leftover temp file " + t.path.string());
        continue;
      }
    }
    report.Warn(t.path.string(),
                std::string(orphan ? "pack file no index names, left by an interrupted write ("
                                   : "temp file of an interrupted or running write (") +
                    std::to_string(t.size) + " bytes, last written " +
                    std::to_string(t.age_seconds) + " s ago): " + hint);
  }
}

}  // namespace converge

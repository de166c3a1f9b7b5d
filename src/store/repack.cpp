#include "store/repack.h"

#include <unistd.h>

#include <cerrno>
#include <memory>
#include <set>
#include <unordered_set>
#include <vector>

#include "store/pack_dir.h"
#include "store/pack_set.h"

namespace converge {

namespace {

void RepackStep(const char* name) {
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
  std::vector<ObjectId> loose;
  for (const LooseFile& f : ListLooseFiles(store)) loose.push_back(f.id);
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
    ObjectKind k = kind <= static_cast<uint8_t>(ObjectKind::kChunkList)
                       ? static_cast<ObjectKind>(kind)
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
  RepackStep("repack-indexes-removed");
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
  RepackStep("repack-packs-removed");
  for (const ObjectId& id : loose)
    if (::unlink(store.PathOf(id).c_str()) == 0) stats.loose_folded++;
  RETURN_IF_ERROR(packs.Refresh());
  return stats;
}

}  // namespace converge

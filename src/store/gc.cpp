// The sweep of a collection (store/gc.h): decide per pack index and loose
// file, carry what is kept into a new pack, commit it, then remove.
#include "store/gc.h"

#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <set>
#include <unordered_set>

#include "store/fsck.h"
#include "store/object_refs.h"
#include "store/pack_dir.h"
#include "store/pack_set.h"

namespace converge {

namespace {

constexpr const char* kCaughtSuffix = ".gc";
// Temp files and orphan packs go once this old (as `fsck --fix` and a server start do them).
constexpr int64_t kGcLeftoverAge = 3600;
// A young object larger than this is not read to find what it names: no
// snap, manifest or chunk list a converge stores or accepts is larger.
constexpr uint64_t kMaxYoungMetadata = 64u << 20;

void GcStep(const char* name) {
  if (pack_commit_step_hook) pack_commit_step_hook(name);
}

Status RefuseIndex(const std::string& name, const std::string& why) {
  return Corrupt("pack index " + name + " " + why +
                 ": gc cannot tell what the store holds and removes nothing; run 'converge "
                 "fsck' (for a server, 'converge serve --fsck')");
}

// Puts back the loose files a killed collection had caught as "<id>.gc".
Result<uint64_t> RestoreCaught(const ObjectStore& store) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(store.root() / "objects", ec)) {
    std::error_code sec;
    for (const auto& f : fs::directory_iterator(shard.path(), sec)) {
      std::string name = f.path().filename().string();
      if (!name.ends_with(kCaughtSuffix)) continue;
      std::optional<ObjectId> id = ObjectId::FromHex(name.substr(0, name.size() - 3));
      if (!id || store.PathOf(*id).parent_path() != shard.path()) continue;
      if (::link(f.path().c_str(), store.PathOf(*id).c_str()) != 0 && errno != EEXIST)
        return ErrnoStatus("put back '" + f.path().string() + "'", errno);
      RETURN_IF_ERROR(FsyncDir(shard.path()));
      if (::unlink(f.path().c_str()) != 0 && errno != ENOENT)
        return ErrnoStatus("remove '" + f.path().string() + "'", errno);
      n++;
    }
  }
  return n;
}

// Removes the loose file of an unreferenced object unless the file found
// under its name now was written at or after `cutoff` (stored anew since it
// was listed: then it stays). True when removed.
Result<bool> RemoveLooseGarbage(const ObjectStore& store, const ObjectId& id, int64_t cutoff) {
  fs::path path = store.PathOf(id);
  fs::path caught = path.string() + kCaughtSuffix;
  if (::rename(path.c_str(), caught.c_str()) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoStatus("rename '" + path.string() + "'", errno);
  }
  GcStep("gc-loose-caught");
  std::optional<int64_t> written = ModifiedAt(caught);
  if (written && *written >= cutoff) {
    if (::link(caught.c_str(), path.c_str()) != 0 && errno != EEXIST)
      return ErrnoStatus("put back '" + caught.string() + "'", errno);
    RETURN_IF_ERROR(FsyncDir(path.parent_path()));
    ::unlink(caught.c_str());
    return false;
  }
  if (::unlink(caught.c_str()) != 0 && errno != ENOENT)
    return ErrnoStatus("remove '" + caught.string() + "'", errno);
  return true;
}

struct GcIndexPlan {
  std::shared_ptr<const PackIndex> idx;
  uint64_t bytes = 0;    // its pack files and itself
  uint64_t garbage = 0;  // entries of unreferenced objects
  uint64_t garbage_bytes = 0;
  uint64_t quarantined = 0;
};

class GcSweep {
 public:
  GcSweep(ObjectStore& store, const LiveSet& live, const GcOptions& o)
      : store_(store), packs_(store.packs()), live_(live), o_(o), batch_(store) {
    batch_.set_max_pack_bytes(o.max_pack_bytes);
  }

  Result<GcStats> Run() {
    stats_.live = live_.size();
    if (!o_.dry_run) {
      ASSIGN_OR_RETURN(stats_.restored, RestoreCaught(store_));
    }
    RETURN_IF_ERROR(packs_.Refresh());
    RETURN_IF_ERROR(PlanIndexes());
    PlanLoose();
    ProtectUnderYoung();
    // An old loose object a young one names is kept (packed) too.
    std::erase_if(loose_garbage_, [&](const LooseFile& f) {
      if (!protect_.count(f.id)) return false;
      fold_.push_back(f);
      return true;
    });
    stats_.indexes_rewritten = rewrite_.size();
    for (const GcIndexPlan& p : rewrite_) RETURN_IF_ERROR(CarryIndex(p));
    for (const LooseFile& f : fold_) {
      stats_.bytes_before += f.bytes;
      if (carried_.insert(f.id).second) RETURN_IF_ERROR(Carry(f.id, kUnknownKind, f.bytes));
    }
    for (const LooseFile& f : loose_garbage_) {
      stats_.bytes_before += f.bytes;
      stats_.removed_bytes += f.bytes;
      gone_.insert(f.id);
    }
    if (!o_.dry_run) {
      RETURN_IF_ERROR(CommitAndRemove());
    } else {  // what the run would do, counted the same way
      stats_.loose_folded = fold_.size();
      stats_.loose_removed = loose_garbage_.size();
      for (const GcIndexPlan& p : rewrite_) stats_.packs_removed += p.idx->packs().size();
    }
    RETURN_IF_ERROR(Leftovers());
    for (const ObjectId& id : gone_)
      if (!young_.count(id) && !left_.count(id)) stats_.removed++;
    stats_.young = young_.size() + protect_.size();
    stats_.left = left_.size();
    return stats_;
  }

 private:
  bool Keep(const ObjectId& id) const { return live_.Contains(id) || protect_.count(id); }

  // Every index in packs/ read and checked whole before anything is decided.
  Status PlanIndexes() {
    quarantine_ = packs_.Quarantine();
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& f : fs::directory_iterator(packs_.dir(), ec))
      if (IsPackFileName(f.path().filename().string(), ".idx"))
        names.push_back(f.path().filename().string());
    if (ec) return IoError("list '" + packs_.dir().string() + "': " + ec.message());
    std::vector<GcIndexPlan> small;
    for (const std::string& name : names) {
      Result<std::shared_ptr<const PackIndex>> loaded = PackIndex::Load(packs_.dir(), name);
      if (!loaded.ok() && loaded.status().code() == Code::kNotFound) continue;
      if (!loaded.ok())
        return RefuseIndex(name, "cannot be read (" + loaded.status().message() + ")");
      std::shared_ptr<const PackIndex> idx = *loaded;
      if (Status whole = idx->CheckWhole(); !whole.ok())
        return RefuseIndex(name, "is damaged (" + whole.message() + ")");
      GcIndexPlan plan{idx, idx->file_bytes()};
      for (const std::string& p : idx->packs()) {
        if (!fs::exists(packs_.dir() / p, ec))
          return RefuseIndex(name, "names pack " + p + ", which is gone");
        plan.bytes += FileBytes(packs_.dir() / p);
      }
      std::optional<int64_t> written = ModifiedAt(packs_.dir() / name);
      if (!written) continue;
      bool young = *written >= o_.cutoff;
      for (size_t i = 0; i < idx->size(); i++) {
        PackEntry e = idx->entry(i);
        if (quarantine_.count({name, e.id})) {
          plan.quarantined++;
        } else if (!live_.Contains(e.id)) {
          plan.garbage++;
          plan.garbage_bytes += e.stored + kPackEntryHeaderBytes;
          if (young) NoteYoung(e.id, e.kind, e.stored + kPackEntryHeaderBytes);
        }
      }
      if (young)
        stats_.indexes_young++;
      else if (plan.quarantined || (plan.garbage && WorthRewriting(plan)))
        rewrite_.push_back(plan);
      else if (plan.garbage)
        LeaveInPlace(plan);
      else if (plan.bytes < o_.keep_packs_from)
        small.push_back(plan);
      else
        stats_.indexes_kept++;
    }
    // Small packs are folded as repack folds them, but one alone is not
    // rewritten for nothing.
    if (rewrite_.empty() && small.size() <= 1 && !HasLooseToFold())
      stats_.indexes_kept += small.size();
    else
      rewrite_.insert(rewrite_.end(), small.begin(), small.end());
    return Status::Ok();
  }

  // A large pack is rewritten for its garbage only when that is at least
  // max_unused_percent of it (restic's prune decides the same way): else a
  // few unreferenced objects would cost rewriting hundreds of MiB every time.
  bool WorthRewriting(const GcIndexPlan& p) const {
    return o_.rewrite_all || p.bytes < o_.keep_packs_from ||
           p.garbage_bytes * 100 >= p.bytes * o_.max_unused_percent;
  }

  void LeaveInPlace(const GcIndexPlan& p) {
    stats_.indexes_kept++;
    stats_.left_bytes += p.garbage_bytes;
    for (size_t i = 0; i < p.idx->size(); i++)
      if (ObjectId id = p.idx->entry(i).id; !live_.Contains(id)) left_.insert(id);
  }

  bool HasLooseToFold() {
    if (!loose_listed_) {
      loose_ = ListLooseFiles(store_);
      loose_listed_ = true;
    }
    for (const LooseFile& f : loose_)
      if (live_.Contains(f.id)) return true;
    return false;
  }

  void PlanLoose() {
    HasLooseToFold();
    for (const LooseFile& f : loose_) {
      if (live_.Contains(f.id))
        fold_.push_back(f);
      else if (f.mtime_ns >= o_.cutoff)
        NoteYoung(f.id, kUnknownKind, f.bytes);
      else
        loose_garbage_.push_back(f);
    }
  }

  void NoteYoung(const ObjectId& id, uint8_t kind, uint64_t bytes) {
    stats_.young_bytes += bytes;
    if (young_.insert(id).second && kind != static_cast<uint8_t>(ObjectKind::kBlob))
      young_roots_.push_back({id, kind});
  }

  // What young unreferenced snaps, manifests and chunk lists name is kept
  // too (as git's prune keeps what recent objects reach). Best effort: one
  // that cannot be read or decoded names nothing here.
  void ProtectUnderYoung() {
    std::vector<std::pair<ObjectId, uint8_t>> stack = young_roots_;
    std::unordered_set<ObjectId> walked;
    while (!stack.empty()) {
      auto [id, kind] = stack.back();
      stack.pop_back();
      if (kind == static_cast<uint8_t>(ObjectKind::kBlob) || !walked.insert(id).second) continue;
      Result<uint64_t> size = store_.SizeOf(id);
      if (!size.ok() || *size > kMaxYoungMetadata) continue;
      Result<std::string> bytes = store_.Read(id, kMaxYoungMetadata);
      if (!bytes.ok()) continue;
      for (ObjectKind k : {ObjectKind::kSnap, ObjectKind::kManifest, ObjectKind::kChunkList}) {
        if (kind != kUnknownKind && kind != static_cast<uint8_t>(k)) continue;
        Result<std::vector<ObjectRef>> refs = ReferencesOf(k, *bytes);
        if (!refs.ok()) continue;
        for (const ObjectRef& r : *refs) {
          if (live_.Contains(r.id)) continue;
          if (!young_.count(r.id)) protect_.insert(r.id);
          stack.push_back({r.id, static_cast<uint8_t>(r.kind)});
        }
        break;
      }
    }
  }

  Status CarryIndex(const GcIndexPlan& p) {
    stats_.bytes_before += p.bytes;
    stats_.quarantined += p.quarantined;
    for (size_t i = 0; i < p.idx->size(); i++) {
      PackEntry e = p.idx->entry(i);
      if (quarantine_.count({p.idx->name(), e.id})) continue;
      if (!Keep(e.id)) {
        stats_.removed_bytes += e.stored + kPackEntryHeaderBytes;
        gone_.insert(e.id);
      } else if (!carried_.insert(e.id).second) {
        stats_.duplicates++;
      } else {
        RETURN_IF_ERROR(Carry(e.id, e.kind, e.stored + kPackEntryHeaderBytes));
      }
    }
    return Status::Ok();
  }

  // One kept object into the new pack, read from any intact copy and re-hashed.
  Status Carry(const ObjectId& id, uint8_t kind, uint64_t bytes) {
    stats_.carried++;
    stats_.carried_bytes += bytes;
    if (o_.dry_run) return Status::Ok();
    ASSIGN_OR_RETURN(ObjectWriter w, store_.NewWriter());
    Status st = store_.Stream(id, [&](std::string_view piece) { return w.Append(piece); });
    if (!st.ok())
      return st.With(
          "gc stopped before removing anything: run 'converge fsck' (--fix sets damaged "
          "objects aside; for a server, 'converge serve --fsck')");
    RETURN_IF_ERROR(w.Finish(id).status());
    ObjectKind k = kind <= static_cast<uint8_t>(ObjectKind::kChunkList)
                       ? static_cast<ObjectKind>(kind)
                       : ObjectKind::kBlob;
    return batch_.Add(std::move(w), k);
  }

  // The new pack is durable before the first old file goes.
  Status CommitAndRemove() {
    if (batch_.size() > 0) {
      RETURN_IF_ERROR(batch_.Commit());
      std::shared_ptr<const PackIndex> made = packs_.Indexes().front();  // Commit adopted it
      stats_.index = made->name();
      stats_.bytes_after += made->file_bytes();
      for (const std::string& p : made->packs()) stats_.bytes_after += FileBytes(packs_.dir() / p);
    }
    std::set<std::string> rewritten_packs;
    for (const GcIndexPlan& p : rewrite_) {
      fs::path path = packs_.dir() / p.idx->name();
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return ErrnoStatus("remove '" + path.string() + "'", errno);
      rewritten_packs.insert(p.idx->packs().begin(), p.idx->packs().end());
    }
    RETURN_IF_ERROR(FsyncDir(packs_.dir()));
    GcStep("gc-indexes-removed");
    if (std::optional<std::set<std::string>> named = NamedPacks(packs_.dir())) {
      for (const std::string& p : rewritten_packs)
        if (!named->count(p) && ::unlink((packs_.dir() / p).c_str()) == 0) stats_.packs_removed++;
      std::set<std::string> indexes;
      for (const auto& f : fs::directory_iterator(packs_.dir()))
        if (IsPackFileName(f.path().filename().string(), ".idx"))
          indexes.insert(f.path().filename().string());
      RETURN_IF_ERROR(packs_.PruneQuarantine(indexes));
    }
    RETURN_IF_ERROR(FsyncDir(packs_.dir()));
    GcStep("gc-packs-removed");
    for (const LooseFile& f : fold_)
      if (::unlink(store_.PathOf(f.id).c_str()) == 0) stats_.loose_folded++;
    for (const LooseFile& f : loose_garbage_) {
      ASSIGN_OR_RETURN(bool removed, RemoveLooseGarbage(store_, f.id, o_.cutoff));
      if (removed) {
        stats_.loose_removed++;
        continue;
      }
      stats_.removed_bytes -= f.bytes;
      gone_.erase(f.id);
      young_.insert(f.id);
    }
    GcStep("gc-loose-removed");
    return packs_.Refresh();
  }

  // Temp files and orphan packs a killed writer left, over an hour old.
  Status Leftovers() {
    ASSIGN_OR_RETURN(std::vector<TempFile> temps, store_.ListTemps());
    for (const TempFile& t : temps) {
      if (t.age_seconds < t.RemovableAt(kGcLeftoverAge)) continue;
      std::error_code ec;
      if (o_.dry_run || fs::remove_all(t.path, ec) > 0) stats_.leftovers++;
    }
    return Status::Ok();
  }

  ObjectStore& store_;
  PackSet& packs_;
  const LiveSet& live_;
  const GcOptions& o_;
  WriteBatch batch_;
  GcStats stats_;
  std::vector<GcIndexPlan> rewrite_;
  std::set<std::pair<std::string, ObjectId>> quarantine_;
  std::vector<LooseFile> loose_, fold_, loose_garbage_;
  bool loose_listed_ = false;
  std::unordered_set<ObjectId> young_;    // unreferenced, in a young file
  std::unordered_set<ObjectId> protect_;  // unreferenced, old, named by a young object
  std::vector<std::pair<ObjectId, uint8_t>> young_roots_;
  std::unordered_set<ObjectId> carried_, gone_;
  std::unordered_set<ObjectId> left_;  // unreferenced, in an old pack not worth rewriting
};

}  // namespace

Result<GcStats> CollectGarbage(ObjectStore& store, const LiveSet& live, const GcOptions& options) {
  ASSIGN_OR_RETURN(Fd lock, TakeRepackLock(store.root()));
  return GcSweep(store, live, options).Run();
}

}  // namespace converge

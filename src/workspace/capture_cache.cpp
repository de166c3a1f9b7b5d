#include "workspace/capture_cache.h"

namespace converge {

void NextStatCache::Dir(const std::string& rel, const ObjectId& id, const StatEntry& stat,
                        bool warned, const std::vector<Entry>& entries,
                        const std::vector<StatEntry>& stats, bool same, int cached) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ && same) {
    same_.push_back(cached);
    return;
  }
  StartLocked();
  if (!spill_.ok()) return;
  writer_->Dir(rel, id, stat, warned);
  for (size_t i = 0; i < entries.size(); i++) {
    const Entry& e = entries[i];
    if (e.type == EntryType::kFile) writer_->File(e.name, stats[i], e.executable);
    if (e.type == EntryType::kDir) writer_->Subdir(e.name, e.id);
    if (e.type == EntryType::kSymlink) writer_->Symlink(e.name, e.target);
  }
}

void NextStatCache::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  StartLocked();
}

void NextStatCache::StartLocked() {
  if (started_) return;
  started_ = true;
  spill_ = writer_->SpillTo(spill_dir_);
  for (int dir : spill_.ok() ? same_ : std::vector<int>()) {
    writer_->Dir(old_.DirPath(dir), old_.DirManifest(dir), old_.DirStat(dir), false);
    for (uint32_t i = 0; i < old_.DirSize(dir); i++) {
      CachedEntry c = old_.At(dir, i);
      if (c.kind == CachedKind::kFile) writer_->File(c.name, c.stat, c.executable);
      if (c.kind == CachedKind::kDir) writer_->Subdir(c.name, c.stat.id);
      if (c.kind == CachedKind::kSymlink) writer_->Symlink(c.name, c.target);
    }
  }
  std::vector<int>().swap(same_);
}

Status NextStatCache::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!spill_.ok()) return spill_;
  return writer_->status();
}

std::shared_ptr<StatCacheWriter> NextStatCache::Take() {
  if (!started_ || !status().ok()) return nullptr;
  return std::move(writer_);
}

}  // namespace converge

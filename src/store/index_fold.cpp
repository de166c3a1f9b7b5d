#include "store/index_fold.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <utility>

#include "base/random.h"
#include "store/pack_dir.h"
#include "store/pack_set.h"
#include "store/pack_writer.h"

namespace converge {

namespace {

using Indexes = std::vector<std::shared_ptr<const PackIndex>>;

void FoldStep(const char* name) {
  if (pack_commit_step_hook) pack_commit_step_hook(name);
}

// The entries of several indexes in ID order, each ID once, their pack
// numbers renumbered into one list of pack names; quarantined copies left
// out. Rewind starts over (StreamPackIndex walks the entries twice).
class MergedEntries {
 public:
  MergedEntries(const PackSet& packs, Indexes from) : from_(std::move(from)) {
    quarantine_ = packs.Quarantine();
    std::map<std::string, uint32_t> number;
    for (const auto& idx : from_) {
      std::vector<uint32_t> remap;
      std::vector<int64_t> written;
      for (const std::string& p : idx->packs()) {
        auto [it, added] = number.emplace(p, static_cast<uint32_t>(names_.size()));
        if (added) names_.push_back(p);
        remap.push_back(it->second);
        written.push_back(ModifiedAt(packs.dir() / p).value_or(kUnknownAge));
      }
      remap_.push_back(std::move(remap));
      written_.push_back(std::move(written));
    }
  }

  const std::vector<std::string>& pack_names() const { return names_; }
  // Not ok when an entry named no pack of its index (then Next stopped).
  const Status& status() const { return status_; }

  void Rewind() {
    pos_.assign(from_.size(), 0);
    heap_.clear();
    for (size_t k = 0; k < from_.size(); k++) Push(k);
  }

  // The next entry; false at the end.
  bool Next(PackEntry* out) {
    if (heap_.empty()) return false;
    std::vector<size_t> same;  // the indexes holding the smallest ID (newest first)
    ObjectId id = Top();
    while (!heap_.empty() && Top() == id) {
      std::pop_heap(heap_.begin(), heap_.end(), Later());
      same.push_back(heap_.back().second);
      heap_.pop_back();
    }
    // An object stored more than once (two writers, or two repos on a
    // server): the index keeps one copy, the newest, which was written last
    // from bytes verified as they came (how a good upload heals a damaged
    // copy); the others' bytes stay in their packs, unindexed, until gc.
    // Newest by its pack's time, not its index's: an index written by an
    // earlier fold is newer than the copies it holds.
    size_t k = same.front();
    for (size_t s : same)
      if (std::make_pair(Written(s), k) > std::make_pair(Written(k), s)) k = s;
    *out = from_[k]->entry(pos_[k]);
    if (out->pack >= remap_[k].size()) {  // lookups never check this; fsck does
      status_ = Corrupt("pack index " + from_[k]->name() + " names no pack for object " + id.hex() +
                        ": run 'converge fsck'");
      heap_.clear();
      return false;
    }
    out->pack = remap_[k][out->pack];
    for (size_t s : same) {
      pos_[s]++;
      Push(s);
    }
    // The pages read so far are not read again (but by the next pass, in
    // order): mapped, a million-object fold's would stay counted in the
    // process's RSS (55 MiB at a million) until the old indexes are closed.
    if (++merged_ % kReleaseEvery == 0)
      for (const auto& idx : from_) idx->ReleasePages();
    return true;
  }

 private:
  static constexpr uint64_t kReleaseEvery = 16384;  // entries: 1 MiB of each index at most
  static constexpr int64_t kUnknownAge = INT64_MIN;  // a pack gone or unreadable

  // When the pack holding index k's current entry was written.
  int64_t Written(size_t k) const {
    uint32_t pack = from_[k]->entry(pos_[k]).pack;
    return pack < written_[k].size() ? written_[k][pack] : kUnknownAge;
  }

  using Item = std::pair<ObjectId, size_t>;  // an index's next ID, and which index
  struct Later {
    bool operator()(const Item& a, const Item& b) const { return b < a; }
  };
  const ObjectId& Top() const { return heap_.front().first; }

  // Moves index k's cursor past quarantined copies and puts its next ID on the heap.
  void Push(size_t k) {
    const PackIndex& idx = *from_[k];
    while (pos_[k] < idx.size()) {
      ObjectId id = idx.entry(pos_[k]).id;
      if (quarantine_.empty() || !quarantine_.count({idx.name(), id})) {
        heap_.push_back({id, k});
        std::push_heap(heap_.begin(), heap_.end(), Later());
        return;
      }
      pos_[k]++;
    }
  }

  Indexes from_;  // newest first
  std::set<std::pair<std::string, ObjectId>> quarantine_;
  std::vector<std::string> names_;
  std::vector<std::vector<uint32_t>> remap_;
  std::vector<std::vector<int64_t>> written_;  // each index's packs' mtimes (ns)
  std::vector<size_t> pos_;
  uint64_t merged_ = 0;  // entries Next gave
  std::vector<Item> heap_;
  Status status_;
};

// Writes the merged index in tmp/ and renames it into packs/; returns its
// name and entry count. Nothing is visible until the rename.
Result<std::pair<std::string, uint64_t>> WriteFolded(const fs::path& root, MergedEntries& merged) {
  uint64_t count = 0;
  PackEntry e;
  for (merged.Rewind(); merged.Next(&e);) count++;
  RETURN_IF_ERROR(merged.status());
  std::string name = RandomHex(16) + ".idx";
  fs::path temp = root / "tmp" / ("fold-" + name + ".tmp");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return ErrnoStatus("create '" + temp.string() + "'", errno);
  Fd owner(fd);
  Status st = StreamPackIndex(
      merged.pack_names(), count,
      [&](size_t i) -> const PackEntry& {
        if (i == 0) merged.Rewind();
        merged.Next(&e);
        return e;
      },
      [&](std::string_view piece) { return WriteAll(fd, piece, "'" + temp.string() + "'"); });
  if (st.ok() && ::fdatasync(fd) != 0) st = ErrnoStatus("sync '" + temp.string() + "'", errno);
  if (st.ok() && ::close(owner.release()) != 0)
    st = ErrnoStatus("close '" + temp.string() + "'", errno);
  FoldStep("fold-index-written");
  fs::path to = root / "packs" / name;
  if (st.ok() && ::rename(temp.c_str(), to.c_str()) != 0)
    st = ErrnoStatus("store pack index '" + to.string() + "'", errno);
  if (!st.ok()) {
    ::unlink(temp.c_str());
    return st;
  }
  RETURN_IF_ERROR(FsyncDir(root / "packs"));
  FoldStep("fold-index-renamed");
  return std::make_pair(name, count);
}

}  // namespace

std::vector<size_t> IndexesToFold(const std::vector<uint64_t>& entries) {
  std::vector<size_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return entries[a] > entries[b]; });
  uint64_t rest = 0;
  for (uint64_t n : entries) rest += n;
  for (size_t i = 0; i < order.size(); i++) {
    rest -= entries[order[i]];
    if (entries[order[i]] >= 2 * rest) continue;
    std::vector<size_t> fold(order.begin() + static_cast<ptrdiff_t>(i), order.end());
    return fold.size() >= 2 ? fold : std::vector<size_t>{};
  }
  return {};
}

Result<FoldStats> FoldIndexes(ObjectStore& store, size_t min_indexes) {
  FoldStats stats;
  PackSet& packs = store.packs();
  auto sizes_of = [](const Indexes& list) {
    std::vector<uint64_t> sizes;
    for (const auto& idx : list) sizes.push_back(idx->size());
    return sizes;
  };
  // Decided first on what this process has loaded: most calls stop here,
  // without the lock or a read of packs/.
  Indexes seen = packs.Indexes();
  if (seen.size() <= min_indexes || IndexesToFold(sizes_of(seen)).empty()) return stats;
  Result<Fd> lock = TakeRepackLock(store.root());
  if (!lock.ok() && lock.status().code() == Code::kConflict) return stats;
  RETURN_IF_ERROR(lock.status());
  RETURN_IF_ERROR(packs.Refresh());
  Indexes all = packs.Indexes();
  if (all.size() <= min_indexes) return stats;
  std::vector<size_t> pick = IndexesToFold(sizes_of(all));
  std::sort(pick.begin(), pick.end());  // keeps newest first
  Indexes fold;
  size_t pack_count = 0;
  for (size_t i : pick) {
    fold.push_back(all[i]);
    pack_count += all[i]->packs().size();
  }
  if (fold.size() < 2 || pack_count > kMaxPacksPerIndex) return stats;

  MergedEntries merged(packs, fold);
  ASSIGN_OR_RETURN(auto made, WriteFolded(store.root(), merged));
  stats.index = made.first;
  stats.entries = made.second;
  // Durable from here on: the folded indexes go (their packs stay, named by
  // the new one), then the quarantine lines that named them.
  for (const auto& idx : fold) {
    fs::path p = packs.dir() / idx->name();
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
      return ErrnoStatus("remove '" + p.string() + "'", errno);
    stats.indexes_folded++;
  }
  RETURN_IF_ERROR(FsyncDir(packs.dir()));
  FoldStep("fold-indexes-removed");
  std::set<std::string> live;  // by name: an index that fails to parse keeps its lines
  std::error_code ec;
  for (auto it = fs::directory_iterator(packs.dir(), ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    if (IsPackFileName(it->path().filename().string(), ".idx"))
      live.insert(it->path().filename().string());
  if (ec) return ErrnoStatus("list '" + packs.dir().string() + "'", ec.value());
  RETURN_IF_ERROR(packs.PruneQuarantine(live));
  RETURN_IF_ERROR(packs.Refresh());
  return stats;
}

}  // namespace converge

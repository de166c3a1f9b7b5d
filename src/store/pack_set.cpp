#include "store/pack_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "store/pack_dir.h"

namespace converge {

namespace {

// Pack files kept open at once; past it the oldest is closed (and reopened
// when needed). Restore keeps directories open too, under a descriptor limit.
constexpr size_t kMaxOpenPacks = 32;
constexpr const char* kQuarantineFile = "quarantine";

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

Result<std::vector<fs::path>> FindOrphanPacks(const fs::path& dir) {
  std::vector<std::string> indexes, packs;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    std::string name = f.path().filename().string();
    if (IsPackFileName(name, ".idx")) indexes.push_back(name);
    if (IsPackFileName(name, ".pack")) packs.push_back(name);
  }
  if (ec) return IoError("list '" + dir.string() + "': " + ec.message());
  std::set<std::string> bases;
  for (const std::string& name : indexes) bases.insert(name.substr(0, name.size() - 4));
  // Read after the listing above: an index renamed in since only names more.
  // None when an index is unreadable or vanishes (folded into one this
  // listing may have missed): then no pack is taken for an orphan this time.
  std::optional<std::set<std::string>> named = NamedPacks(dir);
  if (!named) return std::vector<fs::path>();
  std::vector<fs::path> out;
  for (const std::string& p : packs) {
    std::string base = p.substr(0, p.rfind('-'));
    if (!named->count(p) && !bases.count(base)) out.push_back(dir / p);
  }
  return out;
}

std::string PackSet::Copy::Where() const {
  return "pack " + index->packs()[entry.pack] + " at byte " + std::to_string(entry.offset);
}

PackSet::PackSet(fs::path dir)
    : dir_(std::move(dir)),
      indexes_(std::make_shared<const IndexList>()),
      quarantine_(std::make_shared<const QuarantineSet>()) {}

std::vector<PackSet::Copy> PackSet::Find(const ObjectId& id) const {
  std::shared_ptr<const IndexList> list;
  std::shared_ptr<const QuarantineSet> q;
  {
    std::lock_guard<std::mutex> lock(mu_);
    list = indexes_;
    q = quarantine_;
  }
  std::vector<Copy> out;
  for (const auto& idx : *list) {
    std::optional<size_t> i = idx->Find(id);
    if (!i) continue;
    if (!q->empty() && q->count({idx->name(), id})) continue;
    out.push_back({idx, idx->entry(*i)});
  }
  return out;
}

bool PackSet::Has(const ObjectId& id) const {
  std::shared_ptr<const IndexList> list;
  std::shared_ptr<const QuarantineSet> q;
  {
    std::lock_guard<std::mutex> lock(mu_);
    list = indexes_;
    q = quarantine_;
  }
  for (const auto& idx : *list)
    if (idx->Find(id) && (q->empty() || !q->count({idx->name(), id}))) return true;
  return false;
}

bool PackSet::Changed() const {
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return !SameTime(st.st_mtim, seen_mtime_);
}

namespace {

// Listings of packs/ Refresh makes at most when indexes vanish under it.
constexpr int kRelistAttempts = 8;

}  // namespace

Status PackSet::Refresh() {
  std::lock_guard<std::mutex> one(refresh_mu_);
  struct stat dst;
  if (::stat(dir_.c_str(), &dst) != 0) return ErrnoStatus("stat '" + dir_.string() + "'", errno);
  std::shared_ptr<const IndexList> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = indexes_;
  }
  std::map<std::string, std::shared_ptr<const PackIndex>> known;
  for (const auto& idx : *old) known[idx->name()] = idx;
  std::vector<std::pair<int64_t, std::shared_ptr<const PackIndex>>> found;
  // An index removed while it is listed was folded (or repacked) into one
  // renamed in before its removal, which this listing may have missed: list
  // again, so that its objects are never in neither.
  for (int attempt = 0;; attempt++) {
    found.clear();
    bool vanished = false;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir_, ec)) {
      std::string name = f.path().filename().string();
      if (!IsPackFileName(name, ".idx")) continue;
      struct stat st;
      if (::stat(f.path().c_str(), &st) != 0) {
        vanished = true;
        continue;
      }
      int64_t when = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
      auto k = known.find(name);
      if (k != known.end()) {
        found.emplace_back(when, k->second);
        continue;
      }
      Result<std::shared_ptr<const PackIndex>> idx = PackIndex::Load(dir_, name);
      if (idx.ok())
        found.emplace_back(when, std::move(*idx));
      else if (idx.status().code() == Code::kNotFound)
        vanished = true;
    }
    if (ec) return IoError("list '" + dir_.string() + "': " + ec.message());
    if (!vanished || attempt == kRelistAttempts) break;
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second->name() > b.second->name();
  });
  auto list = std::make_shared<IndexList>();
  for (auto& [when, idx] : found) list->push_back(std::move(idx));
  ASSIGN_OR_RETURN(QuarantineSet q, LoadQuarantine());
  std::set<std::string> named;
  for (const auto& idx : *list) named.insert(idx->packs().begin(), idx->packs().end());
  std::lock_guard<std::mutex> lock(mu_);
  // A pack a repack removed: closed here (a reader using it keeps it open),
  // so its space is freed.
  std::erase_if(fd_order_, [&](const std::string& p) { return !named.count(p); });
  std::erase_if(fds_, [&](const auto& e) { return !named.count(e.first); });
  indexes_ = std::move(list);
  quarantine_ = std::make_shared<const QuarantineSet>(std::move(q));
  seen_mtime_ = dst.st_mtim;
  return Status::Ok();
}

Status PackSet::Adopt(const std::string& index_name) {
  Result<std::shared_ptr<const PackIndex>> loaded = PackIndex::Load(dir_, index_name);
  // Gone already: another process folded it into an index of its own, made
  // durable before this one was removed (store/index_fold.h).
  if (!loaded.ok() && loaded.status().code() == Code::kNotFound) return Refresh();
  ASSIGN_OR_RETURN(std::shared_ptr<const PackIndex> idx, std::move(loaded));
  std::lock_guard<std::mutex> lock(mu_);
  auto list = std::make_shared<IndexList>();
  list->push_back(std::move(idx));
  for (const auto& i : *indexes_)
    if (i->name() != index_name) list->push_back(i);
  indexes_ = std::move(list);
  return Status::Ok();
}

std::vector<std::shared_ptr<const PackIndex>> PackSet::Indexes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return *indexes_;
}

void PackSet::ReleasePages(uint64_t keep_up_to) const {
  for (const auto& idx : Indexes()) idx->ReleasePages(keep_up_to);
}

std::set<std::pair<std::string, ObjectId>> PackSet::Quarantine() const {
  std::lock_guard<std::mutex> lock(mu_);
  return *quarantine_;
}

Result<PackSet::QuarantineSet> PackSet::LoadQuarantine() const {
  QuarantineSet q;
  Result<std::string> text = ReadFile(dir_ / kQuarantineFile);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return q;
    return text.status();
  }
  std::istringstream in(*text);
  std::string index, hex;
  while (in >> index >> hex) {
    std::optional<ObjectId> id = ObjectId::FromHex(hex);
    if (id && IsPackFileName(index, ".idx")) q.insert({index, *id});
  }
  return q;
}

Status PackSet::WriteQuarantine(const QuarantineSet& q) {
  std::string text;
  for (const auto& [index, id] : q) text += index + " " + id.hex() + "\n";
  if (q.empty()) {
    if (::unlink((dir_ / kQuarantineFile).c_str()) != 0 && errno != ENOENT)
      return ErrnoStatus("remove '" + (dir_ / kQuarantineFile).string() + "'", errno);
    return FsyncDir(dir_);
  }
  return WriteFileAtomic(dir_ / kQuarantineFile, text);
}

Status PackSet::AddToQuarantine(const std::vector<std::pair<std::string, ObjectId>>& copies) {
  std::lock_guard<std::mutex> one(refresh_mu_);
  ASSIGN_OR_RETURN(QuarantineSet q, LoadQuarantine());
  q.insert(copies.begin(), copies.end());
  RETURN_IF_ERROR(WriteQuarantine(q));
  std::lock_guard<std::mutex> lock(mu_);
  quarantine_ = std::make_shared<const QuarantineSet>(std::move(q));
  return Status::Ok();
}

Status PackSet::PruneQuarantine(const std::set<std::string>& live_indexes) {
  std::lock_guard<std::mutex> one(refresh_mu_);
  ASSIGN_OR_RETURN(QuarantineSet q, LoadQuarantine());
  size_t before = q.size();
  std::erase_if(q, [&](const auto& e) { return !live_indexes.count(e.first); });
  if (q.size() == before) return Status::Ok();
  RETURN_IF_ERROR(WriteQuarantine(q));
  std::lock_guard<std::mutex> lock(mu_);
  quarantine_ = std::make_shared<const QuarantineSet>(std::move(q));
  return Status::Ok();
}

Result<std::shared_ptr<Fd>> PackSet::OpenPack(const std::string& name) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = fds_.find(name);
    if (it != fds_.end()) return it->second;
  }
  fs::path path = dir_ / name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("pack '" + path.string() + "' is gone");
    return ErrnoStatus("open pack '" + path.string() + "'", errno);
  }
  auto owner = std::make_shared<Fd>(fd);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, added] = fds_.emplace(name, owner);
  if (!added) return it->second;  // another thread opened it meanwhile
  fd_order_.push_back(name);
  if (fd_order_.size() > kMaxOpenPacks) {
    fds_.erase(fd_order_.front());  // readers holding it keep it open
    fd_order_.erase(fd_order_.begin());
  }
  return owner;
}

Status PackSet::ReadAt(const Copy& c, int fd, char* buf, size_t n, uint64_t at) const {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(at + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus("read " + c.Where(), errno);
    if (r == 0)
      return Corrupt("object " + c.entry.id.hex() +
                     " is cut short: its pack ends before it does (" + c.Where() +
                     "); run 'converge fsck'");
    got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

Result<std::string> PackSet::ReadStored(const Copy& c) const {
  if (c.entry.pack >= c.index->packs().size()) return Corrupt("entry names no pack");
  if (c.entry.stored > (1ull << 40)) return Corrupt("entry claims an impossible size");
  ASSIGN_OR_RETURN(std::shared_ptr<Fd> fd, OpenPack(c.index->packs()[c.entry.pack]));
  std::string out(kPackEntryHeaderBytes + c.entry.stored, '\0');
  RETURN_IF_ERROR(ReadAt(c, fd->get(), out.data(), out.size(), c.entry.offset));
  return out;
}

}  // namespace converge

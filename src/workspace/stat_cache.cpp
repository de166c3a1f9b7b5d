// Reading the stat cache file: its layout is in stat_cache_layout.h.
#include "workspace/stat_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "workspace/stat_cache_layout.h"

namespace converge {

using namespace stat_cache_layout;

ObjectId IgnoreRulesId(std::string_view text) {
  return ObjectId::Of(text);
}

// ---- reading

Result<StatCache> StatCache::Parse(std::string bytes) {
  auto owned = std::make_shared<std::string>(std::move(bytes));
  std::string_view view(*owned);
  return Parse(std::shared_ptr<const char>(owned, owned->data()), view);
}

namespace {

// Drops the pages wholly inside [p, p + n) of a private read-only file
// mapping from this process (they come back from the file when touched).
void DropMappedPages(const char* p, size_t n) {
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  auto end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

constexpr size_t kCheckPiece = 4 << 20;  // bytes hashed between drops of a mapping's pages
constexpr size_t kCheckDirs = 4096;      // directories checked between drops

}  // namespace

Result<StatCache> StatCache::Parse(std::shared_ptr<const char> hold, std::string_view bytes,
                                   bool mapped) {
  auto bad = [](const std::string& why) { return Corrupt("the stat cache file " + why); };
  if (bytes.size() < kCacheHeaderBytes + kCacheSumBytes ||
      std::memcmp(bytes.data(), kCacheMagic, 8) != 0)
    return bad("is not one (too short, or no magic number)");
  uint32_t version = CacheU32(bytes.data() + 8);
  if (version != kVersion)
    return Invalid("the stat cache file is in version " + std::to_string(version) +
                   " of its format; this converge reads version " + std::to_string(kVersion));
  StatCache c;
  c.dirs_ = CacheU32(bytes.data() + 16);
  c.entries_ = CacheU32(bytes.data() + 20);
  c.strings_len_ = CacheU32(bytes.data() + 24);
  c.dirs_at_ = kCacheHeaderBytes;
  c.entries_at_ = c.dirs_at_ + c.dirs_ * kDirBytes;
  c.strings_at_ = c.entries_at_ + c.entries_ * kEntryBytes;
  if (c.strings_at_ + c.strings_len_ + kCacheSumBytes != bytes.size())
    return bad("is torn: its size does not match its header");
  std::string_view body(bytes.data(), bytes.size() - kCacheSumBytes);
  Hasher sum;
  for (size_t at = 0; at < body.size(); at += kCheckPiece) {
    std::string_view piece = body.substr(at, kCheckPiece);
    sum.Update(piece);
    if (mapped) DropMappedPages(piece.data(), piece.size());
  }
  if (sum.Finish() != CacheId(bytes.data() + body.size()))
    return bad("is damaged: its checksum does not match");
  c.rules_ = CacheId(bytes.data() + 32);
  c.hold_ = std::move(hold);
  c.bytes_ = bytes;
  // Every offset in bounds and every list in order, so that lookups need no
  // checks; each entry in one directory at most, so that this is linear.
  std::string_view prev_path;
  std::vector<bool> owned(c.entries_);
  c.mapped_ = mapped;
  for (size_t d = 0; d < c.dirs_; d++) {
    if (d % kCheckDirs == kCheckDirs - 1) c.ReleasePages();
    const char* r = c.DirRecord(static_cast<int>(d));
    uint64_t path_end = uint64_t{CacheU32(r + 32)} + CacheU32(r + 36);
    uint64_t entries_end = uint64_t{CacheU32(r + 40)} + CacheU32(r + 44);
    if (path_end > c.strings_len_ || entries_end > c.entries_) return bad("has a bad directory");
    for (uint64_t i = CacheU32(r + 40); i < entries_end; i++) {
      if (owned[i]) return bad("has an entry in two directories");
      owned[i] = true;
    }
    std::string_view path = c.DirPath(static_cast<int>(d));
    if (d > 0 && path <= prev_path) return bad("has directories out of order");
    prev_path = path;
    std::string_view prev_name;
    for (uint32_t i = 0; i < CacheU32(r + 44); i++) {
      const char* e = c.EntryRecord(CacheU32(r + 40) + i);
      uint64_t end = uint64_t{CacheU32(e + 68)} + CacheU32(e + 72);
      auto kind = static_cast<uint8_t>(e[76]);
      if (kind == static_cast<uint8_t>(CachedKind::kSymlink)) {
        uint64_t target = CacheU64(e + 32);  // its length: checked alone first, no overflow
        end = target > c.strings_len_ ? target : end + target;
      }
      if (end > c.strings_len_ || kind > 2) return bad("has a bad entry");
      std::string_view name = c.String(CacheU32(e + 68), CacheU32(e + 72));
      if (i > 0 && name <= prev_name) return bad("has entries out of order");
      prev_name = name;
    }
  }
  c.from_file_ = true;
  c.ReleasePages();
  return c;
}

void StatCache::ReleasePages() const {
  // Private, read-only, of a file replaced only by rename: dropped pages
  // come back from the file as they were.
  if (mapped_) DropMappedPages(bytes_.data(), bytes_.size());
}

const char* StatCache::DirRecord(int dir) const {
  return bytes_.data() + dirs_at_ + static_cast<size_t>(dir) * kDirBytes;
}
const char* StatCache::EntryRecord(uint32_t index) const {
  return bytes_.data() + entries_at_ + size_t{index} * kEntryBytes;
}
std::string_view StatCache::String(uint32_t off, uint32_t len) const {
  return std::string_view(bytes_.data() + strings_at_ + off, len);
}

int StatCache::FindDir(std::string_view path) const {
  size_t lo = 0, hi = dirs_;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    std::string_view p = DirPath(static_cast<int>(mid));
    if (p == path) return static_cast<int>(mid);
    if (p < path)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

std::string_view StatCache::DirPath(int dir) const {
  const char* r = DirRecord(dir);
  return String(CacheU32(r + 32), CacheU32(r + 36));
}

std::optional<ObjectId> StatCache::DirManifest(int dir) const {
  const char* r = DirRecord(dir);
  if (!(CacheU32(r + 48) & kDirHasManifest)) return std::nullopt;
  return CacheId(r);
}

StatEntry StatCache::DirStat(int dir) const {
  const char* r = DirRecord(dir);
  StatEntry e;
  e.mode = CacheU32(r + 52);
  e.ino = CacheU64(r + 56);
  e.mtime_ns = static_cast<int64_t>(CacheU64(r + 64));
  e.ctime_ns = static_cast<int64_t>(CacheU64(r + 72));
  e.size = CacheU64(r + 80);
  e.racy = CacheU32(r + 48) & kDirRacy;
  return e;
}

bool StatCache::DirWarned(int dir) const {
  return CacheU32(DirRecord(dir) + 48) & kDirWarned;
}

bool StatCache::DirUnchanged(int dir, const StatEntry& now) const {
  return dir >= 0 && !DirWarned(dir) && DirStat(dir).Matches(now);
}

uint32_t StatCache::DirSize(int dir) const {
  return CacheU32(DirRecord(dir) + 44);
}

CachedEntry StatCache::At(int dir, uint32_t i) const {
  const char* e = EntryRecord(CacheU32(DirRecord(dir) + 40) + i);
  CachedEntry out;
  out.name = String(CacheU32(e + 68), CacheU32(e + 72));
  out.kind = static_cast<CachedKind>(e[76]);
  auto flags = static_cast<uint8_t>(e[77]);
  out.stat.id = CacheId(e);
  out.stat.size = CacheU64(e + 32);
  out.stat.mtime_ns = static_cast<int64_t>(CacheU64(e + 40));
  out.stat.ctime_ns = static_cast<int64_t>(CacheU64(e + 48));
  out.stat.ino = CacheU64(e + 56);
  out.stat.mode = CacheU32(e + 64);
  out.stat.chunked = flags & kEntryChunked;
  out.stat.racy = flags & kEntryRacy;
  out.executable = flags & kEntryExecutable;
  if (out.kind == CachedKind::kSymlink)
    out.target = String(CacheU32(e + 68) + CacheU32(e + 72), static_cast<uint32_t>(out.stat.size));
  return out;
}

int64_t StatCache::FindEntry(int dir, std::string_view name) const {
  const char* r = DirRecord(dir);
  uint32_t first = CacheU32(r + 40);
  size_t lo = 0, hi = CacheU32(r + 44);
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char* e = EntryRecord(first + static_cast<uint32_t>(mid));
    std::string_view n = String(CacheU32(e + 68), CacheU32(e + 72));
    if (n == name) return static_cast<int64_t>(mid);
    if (n < name)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

std::optional<CachedEntry> StatCache::Find(std::string_view path) const {
  size_t slash = path.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? "" : path.substr(0, slash);
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  int d = FindDir(dir);
  if (d < 0) return std::nullopt;
  int64_t i = FindEntry(d, name);
  if (i < 0) return std::nullopt;
  return At(d, static_cast<uint32_t>(i));
}

std::optional<StatEntry> StatCache::Reuse(int dir, std::string_view name,
                                          const StatEntry& now) const {
  if (dir < 0) return std::nullopt;
  return ReuseAt(dir, FindEntry(dir, name), now);
}

std::optional<StatEntry> StatCache::ReuseAt(int dir, int64_t i, const StatEntry& now) const {
  if (dir < 0 || i < 0) return std::nullopt;
  CachedEntry e = At(dir, static_cast<uint32_t>(i));
  if (e.kind != CachedKind::kFile || !e.stat.Matches(now)) return std::nullopt;
  return e.stat;
}

}  // namespace converge

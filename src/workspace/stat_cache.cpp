// The stat cache file (workspace/stat_cache.h). Layout, version 1, every
// integer little-endian:
//
//   header, 64 bytes
//     0  magic "CVGSTATC"
//     8  u32 version (1)         12  u32 reserved (0)
//    16  u32 directories         20  u32 entries
//    24  u32 string bytes        28  u32 reserved (0)
//    32  [32] ignore rules ID (IgnoreRulesId) the manifests were made under
//   directory records, 88 bytes each, sorted by path bytewise, unique
//     0  [32] manifest ID (zero when none is recorded)
//    32  u32 path offset         36  u32 path length (into the strings; root "")
//    40  u32 first entry         44  u32 entry count
//    48  u32 flags (1 the manifest ID is recorded, 2 racy, 4 warned)
//    52  u32 st_mode   56  u64 inode   64  i64 mtime ns   72  i64 ctime ns
//    80  u64 size (the directory's own stat fields)
//   entry records, 80 bytes each; a directory's are consecutive, sorted by
//   name bytewise, unique
//     0  [32] ID: a file's blob (its chunk list when chunked), a directory's
//             manifest, zero for a symlink
//    32  u64 size (a symlink: its target's length)
//    40  i64 mtime ns   48  i64 ctime ns   56  u64 inode   64  u32 st_mode
//    68  u32 name offset         72  u32 name length
//    76  u8 kind (0 file, 1 directory, 2 symlink)
//    77  u8 flags (1 chunked, 2 racy, 4 executable)      78  u16 reserved (0)
//   strings: names and directory paths; a symlink's target follows its name
//   trailer: BLAKE2b-256 of every byte before it
//
// Names are stored once, relative to their directory, whose path is stored
// once: the sharing git's index v4 gets from prefix compression, with every
// name still a plain slice of the buffer.
#include "workspace/stat_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace converge {

namespace {

constexpr char kCacheMagic[8] = {'C', 'V', 'G', 'S', 'T', 'A', 'T', 'C'};
constexpr size_t kCacheHeaderBytes = 64, kDirBytes = 88, kEntryBytes = 80;
constexpr size_t kCacheSumBytes = ObjectId::kBytes;
constexpr uint32_t kDirHasManifest = 1, kDirRacy = 2, kDirWarned = 4;
constexpr uint8_t kEntryChunked = 1, kEntryRacy = 2, kEntryExecutable = 4;

uint32_t CacheU32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}
uint64_t CacheU64(const char* p) {
  return uint64_t{CacheU32(p)} | uint64_t{CacheU32(p + 4)} << 32;
}
ObjectId CacheId(const char* p) {
  std::array<unsigned char, ObjectId::kBytes> b;
  std::memcpy(b.data(), p, b.size());
  return ObjectId(b);
}

void CachePutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<char>(v >> (8 * i));
}
void CachePutU64(char* p, uint64_t v) {
  CachePutU32(p, static_cast<uint32_t>(v));
  CachePutU32(p + 4, static_cast<uint32_t>(v >> 32));
}
void CachePutId(char* p, const ObjectId& id) {
  std::memcpy(p, id.data(), ObjectId::kBytes);
}

}  // namespace

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

// ---- writing

StatCacheWriter::StatCacheWriter(const ObjectId& rules) : rules_(rules) {}

namespace {

// An unlinked file in `dir` for reading and writing: gone once closed, crash or not.
Result<Fd> OpenSpillFile(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
  if (fd >= 0) return Fd(fd);
  // A filesystem without O_TMPFILE: an ordinary temp file, unlinked at once.
  fs::path path = dir / TempName("stat-cache-spill");
  fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create a temp file in '" + dir.string() + "'", errno);
  ::unlink(path.c_str());
  return Fd(fd);
}

constexpr size_t kSpillChunk = 1 << 20;

}  // namespace

Status StatCacheWriter::SpillTo(const fs::path& tmp_dir) {
  ASSIGN_OR_RETURN(entries_.fd, OpenSpillFile(tmp_dir));
  ASSIGN_OR_RETURN(strings_.fd, OpenSpillFile(tmp_dir));
  entries_.buf.reserve(kSpillChunk + kEntryBytes);
  strings_.buf.reserve(kSpillChunk + 4096);
  return Status::Ok();
}

void StatCacheWriter::Reserve(size_t dirs, size_t entries, size_t string_bytes) {
  dirs_.reserve(dirs);
  if (!entries_.fd.valid()) entries_.buf.reserve(entries * kEntryBytes);
  if (!strings_.fd.valid()) strings_.buf.reserve(string_bytes);
}

void StatCacheWriter::Append(Region& r, std::string_view bytes) {
  r.buf.append(bytes);
  if (!r.fd.valid() || r.buf.size() < kSpillChunk) return;
  if (status_.ok()) status_ = WriteAll(r.fd.get(), r.buf, "the stat cache's temp file");
  r.flushed += r.buf.size();
  r.buf.clear();
}

uint32_t StatCacheWriter::Intern(std::string_view s) {
  auto off = static_cast<uint32_t>(strings_.size());
  Append(strings_, s);
  return off;
}

void StatCacheWriter::Dir(std::string_view path, const std::optional<ObjectId>& manifest,
                          const StatEntry& stat, bool warned) {
  uint32_t off = Intern(path);
  dirs_.push_back({off, static_cast<uint32_t>(path.size()), static_cast<uint32_t>(entry_count_), 0,
                   manifest, stat, warned, paths_.size()});
  paths_.append(path);
}

// Offsets are taken modulo 2^32 here; Emit throws everything away when
// they did not fit.
void StatCacheWriter::Add(std::string_view name, CachedKind kind, const StatEntry& e, uint8_t flags,
                          std::string_view target) {
  char r[kEntryBytes] = {};
  CachePutId(r, e.id);
  CachePutU64(r + 32, kind == CachedKind::kSymlink ? target.size() : e.size);
  CachePutU64(r + 40, static_cast<uint64_t>(e.mtime_ns));
  CachePutU64(r + 48, static_cast<uint64_t>(e.ctime_ns));
  CachePutU64(r + 56, e.ino);
  CachePutU32(r + 64, e.mode);
  CachePutU32(r + 68, Intern(name));
  CachePutU32(r + 72, static_cast<uint32_t>(name.size()));
  Intern(target);
  r[76] = static_cast<char>(kind);
  r[77] = static_cast<char>(flags);
  Append(entries_, std::string_view(r, kEntryBytes));
  entry_count_++;
  dirs_.back().count++;
}

void StatCacheWriter::File(std::string_view name, const StatEntry& e, bool executable) {
  uint8_t flags = (e.chunked ? kEntryChunked : 0) | (e.racy ? kEntryRacy : 0) |
                  (executable ? kEntryExecutable : 0);
  Add(name, CachedKind::kFile, e, flags, {});
}

void StatCacheWriter::Subdir(std::string_view name, const ObjectId& manifest) {
  StatEntry e;
  e.id = manifest;
  Add(name, CachedKind::kDir, e, 0, {});
}

void StatCacheWriter::Symlink(std::string_view name, std::string_view target) {
  Add(name, CachedKind::kSymlink, StatEntry{}, 0, target);
}

Status StatCacheWriter::EmitRegion(Region& r, const std::function<Status(std::string_view)>& out) {
  std::string chunk;
  for (uint64_t at = 0; at < r.flushed;) {
    chunk.resize(std::min<uint64_t>(kSpillChunk, r.flushed - at));
    ssize_t n = ::pread(r.fd.get(), chunk.data(), chunk.size(), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read the stat cache's temp file", errno);
    if (n == 0) return IoError("the stat cache's temp file is shorter than what was written to it");
    chunk.resize(static_cast<size_t>(n));
    RETURN_IF_ERROR(out(chunk));
    at += static_cast<uint64_t>(n);
  }
  return out(r.buf);
}

Status StatCacheWriter::Emit(const std::function<Status(std::string_view)>& sink) {
  RETURN_IF_ERROR(status_);
  Hasher sum;
  auto out = [&](std::string_view piece) {
    sum.Update(piece);
    return sink(piece);
  };
  // Past what 32-bit counts and offsets hold (billions of entries or 4 GiB
  // of names), write an empty cache rather than a wrong one.
  bool fits = strings_.size() <= UINT32_MAX && dirs_.size() <= UINT32_MAX &&
              entry_count_ <= UINT32_MAX;
  if (!fits) {
    dirs_.clear();
    entries_ = Region{};
    strings_ = Region{};
    entry_count_ = 0;
  }
  auto path = [&](const DirRec& d) {
    return std::string_view(paths_).substr(d.mem_off, d.path_len);
  };
  std::sort(dirs_.begin(), dirs_.end(),
            [&](const DirRec& a, const DirRec& b) { return path(a) < path(b); });
  std::string head(kCacheHeaderBytes, '\0');
  std::memcpy(head.data(), kCacheMagic, 8);
  CachePutU32(head.data() + 8, StatCache::kVersion);
  CachePutU32(head.data() + 16, static_cast<uint32_t>(dirs_.size()));
  CachePutU32(head.data() + 20, static_cast<uint32_t>(entry_count_));
  CachePutU32(head.data() + 24, static_cast<uint32_t>(strings_.size()));
  CachePutId(head.data() + 32, rules_);
  for (const DirRec& d : dirs_) {
    char r[kDirBytes] = {};
    if (d.manifest) CachePutId(r, *d.manifest);
    CachePutU32(r + 32, d.path_off);
    CachePutU32(r + 36, d.path_len);
    CachePutU32(r + 40, d.first);
    CachePutU32(r + 44, d.count);
    CachePutU32(r + 48, (d.manifest ? kDirHasManifest : 0) | (d.stat.racy ? kDirRacy : 0) |
                            (d.warned ? kDirWarned : 0));
    CachePutU32(r + 52, d.stat.mode);
    CachePutU64(r + 56, d.stat.ino);
    CachePutU64(r + 64, static_cast<uint64_t>(d.stat.mtime_ns));
    CachePutU64(r + 72, static_cast<uint64_t>(d.stat.ctime_ns));
    CachePutU64(r + 80, d.stat.size);
    head.append(r, kDirBytes);
    if (head.size() >= kSpillChunk) {
      RETURN_IF_ERROR(out(head));
      head.clear();
    }
  }
  RETURN_IF_ERROR(out(head));
  RETURN_IF_ERROR(EmitRegion(entries_, out));
  RETURN_IF_ERROR(EmitRegion(strings_, out));
  ObjectId id = sum.Finish();
  return sink(std::string_view(reinterpret_cast<const char*>(id.data()), kCacheSumBytes));
}

std::string StatCacheWriter::Finish() {
  std::string out;
  out.reserve(kCacheHeaderBytes + dirs_.size() * kDirBytes + entries_.size() + strings_.size() +
              kCacheSumBytes);
  Status st = Emit([&](std::string_view piece) {
    out.append(piece);
    return Status::Ok();
  });
  return st.ok() ? out : std::string();
}

}  // namespace converge

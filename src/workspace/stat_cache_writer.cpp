// Writing the stat cache file: its layout is in stat_cache_layout.h.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "workspace/stat_cache.h"
#include "workspace/stat_cache_layout.h"

namespace converge {

using namespace stat_cache_layout;

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
  bool fits =
      strings_.size() <= UINT32_MAX && dirs_.size() <= UINT32_MAX && entry_count_ <= UINT32_MAX;
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

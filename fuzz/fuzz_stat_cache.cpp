// StatCache::Parse (workspace/stat_cache.h): the input with its last 32
// bytes replaced by the BLAKE2b-256 of the rest, so that the fuzzer gets past
// the checksum to the layout checks (a file with a good checksum is still
// never trusted to stay in bounds). When it parses, checked:
// - every directory is found by its path, every entry by its name, and
//   Find(path) agrees with both;
// - written again through StatCacheWriter it parses to the same content.
#include <optional>
#include <string>

#include "fuzz_check.h"
#include "workspace/stat_cache.h"

using namespace converge;

namespace {

std::string WithChecksum(std::string_view in) {
  std::string bytes(in);
  if (bytes.size() < ObjectId::kBytes) return bytes;
  std::string_view body(bytes.data(), bytes.size() - ObjectId::kBytes);
  ObjectId sum = ObjectId::Of(body);
  bytes.replace(body.size(), ObjectId::kBytes, reinterpret_cast<const char*>(sum.data()),
                ObjectId::kBytes);
  return bytes;
}

std::string Rewritten(const StatCache& c) {
  StatCacheWriter w(c.rules());
  for (size_t d = 0; d < c.dir_count(); d++) {
    int dir = static_cast<int>(d);
    w.Dir(c.DirPath(dir), c.DirManifest(dir), c.DirStat(dir), c.DirWarned(dir));
    for (uint32_t i = 0; i < c.DirSize(dir); i++) {
      CachedEntry e = c.At(dir, i);
      if (e.kind == CachedKind::kFile) w.File(e.name, e.stat, e.executable);
      if (e.kind == CachedKind::kDir) w.Subdir(e.name, e.stat.id);
      if (e.kind == CachedKind::kSymlink) w.Symlink(e.name, e.target);
    }
  }
  return w.Finish();
}

bool SameEntry(const CachedEntry& a, const CachedEntry& b) {
  if (a.name != b.name || a.kind != b.kind) return false;
  if (a.kind == CachedKind::kSymlink) return a.target == b.target;
  if (a.kind == CachedKind::kDir) return a.stat.id == b.stat.id;
  return a.stat.id == b.stat.id && a.stat.size == b.stat.size &&
         a.stat.mtime_ns == b.stat.mtime_ns && a.stat.ctime_ns == b.stat.ctime_ns &&
         a.stat.ino == b.stat.ino && a.stat.mode == b.stat.mode &&
         a.stat.chunked == b.stat.chunked && a.stat.racy == b.stat.racy &&
         a.executable == b.executable;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<StatCache> c = StatCache::Parse(WithChecksum(fuzz::Bytes(data, size)));
  if (!c.ok()) return 0;
  for (size_t d = 0; d < c->dir_count(); d++) {
    int dir = static_cast<int>(d);
    std::string path(c->DirPath(dir));
    FUZZ_CHECK(c->FindDir(path) == dir, path);
    for (uint32_t i = 0; i < c->DirSize(dir); i++) {
      CachedEntry e = c->At(dir, i);
      FUZZ_CHECK(c->FindEntry(dir, e.name) == i, std::string(e.name));
      // A name holding '/' is not reachable by path; the rest are.
      if (e.name.find('/') != std::string_view::npos || e.name.empty()) continue;
      std::optional<CachedEntry> found =
          c->Find(path.empty() ? std::string(e.name) : path + "/" + std::string(e.name));
      FUZZ_CHECK(found && SameEntry(*found, e), path);
    }
  }
  Result<StatCache> again = StatCache::Parse(Rewritten(*c));
  FUZZ_CHECK(again.ok(), again.status().message());
  FUZZ_CHECK(again->dir_count() == c->dir_count(), "directory count");
  FUZZ_CHECK(again->rules() == c->rules(), "rules");
  for (size_t d = 0; d < c->dir_count(); d++) {
    int dir = static_cast<int>(d);
    FUZZ_CHECK(again->DirPath(dir) == c->DirPath(dir), std::string(c->DirPath(dir)));
    FUZZ_CHECK(again->DirManifest(dir) == c->DirManifest(dir), "manifest");
    FUZZ_CHECK(again->DirWarned(dir) == c->DirWarned(dir), "warned");
    StatEntry a = again->DirStat(dir), b = c->DirStat(dir);
    FUZZ_CHECK(a.ino == b.ino && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns &&
                   a.size == b.size && a.mode == b.mode && a.racy == b.racy,
               "directory stat");
    FUZZ_CHECK(again->DirSize(dir) == c->DirSize(dir), "size");
    for (uint32_t i = 0; i < c->DirSize(dir); i++)
      FUZZ_CHECK(SameEntry(again->At(dir, i), c->At(dir, i)), std::string(c->At(dir, i).name));
  }
  return 0;
}

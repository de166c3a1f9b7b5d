// The stat cache on disk (workspace/stat_cache.h): loading the file (mapped),
// saving it, and the legacy `stat_cache` table, where a workspace made before
// the file kept the cache, one row per file. The only SQL against that table.
// (stat_cache.cpp and stat_cache_writer.cpp are the format alone, which the fuzzer links.)
#include "workspace/stat_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "store/pack_writer.h"

namespace converge {

Result<StatCache> StatCache::Load(const fs::path& meta, Db& db, std::string* problem) {
  if (problem) problem->clear();
  fs::path path = meta / kFileName;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  std::string why;
  if (fd < 0) {
    if (errno != ENOENT)
      why = "the stat cache file " + ErrnoStatus("cannot be opened", errno).message();
  } else {
    // Mapped whole: no copy, no zeroed buffer. A snap replaces the file by
    // rename, never in place, so the mapping stays one whole version (and
    // never shrinks under us). Not populated: the check and the lookups
    // fault in what they touch, and drop it again (ReleasePages), so a
    // cache of a million files is never resident whole.
    Fd owner(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      why = "the stat cache file " + ErrnoStatus("cannot be read", errno).message();
    } else if (st.st_size <= 0) {
      why = "the stat cache file is empty";
    } else {
      auto size = static_cast<size_t>(st.st_size);
      void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (map == MAP_FAILED) {
        why = "the stat cache file " + ErrnoStatus("cannot be mapped", errno).message();
      } else {
        std::shared_ptr<const char> hold(static_cast<const char*>(map), [size](const char* p) {
          ::munmap(const_cast<char*>(p), size);
        });
        Result<StatCache> parsed = Parse(hold, std::string_view(hold.get(), size), true);
        if (parsed.ok()) return parsed;
        why = parsed.status().message();
      }
    }
  }
  if (problem) *problem = why;
  return FromTable(db);
}

// ---- saving

namespace {

// The cache file replaced atomically, its temp file in the store's tmp/,
// where fsck reports a killed writer's leftover and `fsck --fix` removes it.
// Not synced (its fsync and its directory's were ~2.5 ms of a 1 % re-snap):
// a power loss may leave the old cache or a torn one, which Load's checksum
// refuses (fsck warns, the next snap reads every file); every object it
// names is durable before it is written, under a recorded snap.
Status ReplaceCacheFile(const fs::path& meta, const std::function<Status(const ByteSink&)>& emit) {
  return ReplaceCacheFileFrom(meta / StatCache::kFileName, meta / "tmp", 0600,
                              [&](const ByteSink& sink) {
                                RETURN_IF_ERROR(emit(sink));
                                if (pack_commit_step_hook)
                                  pack_commit_step_hook("stat-cache-written");
                                return Status::Ok();
                              });
}

}  // namespace

Status SaveStatCache(const fs::path& meta, Db& db, std::string_view bytes, bool empty_table) {
  RETURN_IF_ERROR(ReplaceCacheFile(meta, [&](const ByteSink& sink) { return sink(bytes); }));
  if (!empty_table) return Status::Ok();
  return StatCache::EmptyTable(db);
}

Status SaveStatCache(const fs::path& meta, Db& db, StatCacheWriter& writer, bool empty_table) {
  RETURN_IF_ERROR(ReplaceCacheFile(meta, [&](const ByteSink& sink) { return writer.Emit(sink); }));
  if (!empty_table) return Status::Ok();
  return StatCache::EmptyTable(db);
}

std::optional<std::string> SaveStatCacheOrWarn(const fs::path& meta, Db& db,
                                               StatCacheWriter* writer, bool empty_table,
                                               const std::string& then) {
  if (!writer) return std::nullopt;
  Status st = SaveStatCache(meta, db, *writer, empty_table);
  if (st.ok()) return std::nullopt;
  return StatCacheWarning(st.message(), then);
}

std::string StatCacheWarning(const std::string& why, const std::string& then) {
  return "could not write the stat cache (" + why + "): " + then;
}

Status StatCache::EmptyTable(Db& db) {
  ASSIGN_OR_RETURN(Db::Tx tx, db.BeginWrite());
  RETURN_IF_ERROR(db.Exec("DELETE FROM stat_cache"));
  return tx.Commit();
}

Result<StatCache> StatCache::FromTable(Db& db) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT path, size, mtime_ns, ctime_ns, ino, mode, id, "
                                      "chunked, racy FROM stat_cache"));
  struct Row {
    std::string dir, name;
    StatEntry e;
  };
  std::vector<Row> rows;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    Row r;
    std::string path = q.Text(0);
    size_t slash = path.rfind('/');
    r.dir = slash == std::string::npos ? "" : path.substr(0, slash);
    r.name = slash == std::string::npos ? path : path.substr(slash + 1);
    r.e.size = static_cast<uint64_t>(q.Int(1));
    r.e.mtime_ns = q.Int(2);
    r.e.ctime_ns = q.Int(3);
    r.e.ino = static_cast<uint64_t>(q.Int(4));
    r.e.mode = static_cast<uint32_t>(q.Int(5));
    auto id = ObjectId::FromHex(q.Text(6));
    if (!id || r.name.empty()) continue;  // a damaged row only costs a re-read
    r.e.id = *id;
    r.e.chunked = q.Int(7) != 0;
    r.e.racy = q.Int(8) != 0;
    rows.push_back(std::move(r));
  }
  if (rows.empty()) return StatCache();
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.dir != b.dir ? a.dir < b.dir : a.name < b.name;
  });
  // Files only: the rows never held directories, so no manifest and no
  // directory stat fields (racy: never trusted) either.
  StatCacheWriter w{ObjectId()};
  StatEntry unknown;
  unknown.racy = true;
  for (size_t i = 0; i < rows.size(); i++) {
    if (i == 0 || rows[i].dir != rows[i - 1].dir) w.Dir(rows[i].dir, std::nullopt, unknown, false);
    w.File(rows[i].name, rows[i].e, (rows[i].e.mode & S_IXUSR) != 0);
  }
  // Rows Parse refuses (two paths naming one entry, say) only cost a re-read.
  Result<StatCache> c = Parse(w.Finish());
  if (!c.ok()) return StatCache();
  c->from_file_ = false;
  c->from_table_ = true;
  return c;
}

Result<std::vector<StatCacheRow>> StatCache::ListRows(Db& db) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT path, id, chunked FROM stat_cache"));
  std::vector<StatCacheRow> rows;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    rows.push_back({q.Text(0), q.Text(1), q.Int(2) != 0});
  }
  return rows;
}

Status StatCache::Drop(Db& db, const std::vector<std::string>& paths) {
  if (paths.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(Db::Tx tx, db.BeginWrite());
  ASSIGN_OR_RETURN(Stmt del, db.Prepare("DELETE FROM stat_cache WHERE path = ?"));
  for (const std::string& path : paths) {
    del.Reset();
    RETURN_IF_ERROR(del.Bind(1, path).Run());
  }
  return tx.Commit();
}

}  // namespace converge

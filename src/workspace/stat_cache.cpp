#include "workspace/stat_cache.h"

namespace converge {

Result<StatCache> StatCache::Load(Db& db) {
  StatCache cache;
  ASSIGN_OR_RETURN(Stmt count, db.Prepare("SELECT count(*) FROM stat_cache"));
  ASSIGN_OR_RETURN(bool counted, count.Step());
  if (counted) cache.entries_.reserve(static_cast<size_t>(count.Int(0)));
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT path, size, mtime_ns, ctime_ns, ino, mode, id, "
                                      "chunked, racy FROM stat_cache"));
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    StatEntry e;
    e.size = static_cast<uint64_t>(q.Int(1));
    e.mtime_ns = q.Int(2);
    e.ctime_ns = q.Int(3);
    e.ino = static_cast<uint64_t>(q.Int(4));
    e.mode = static_cast<uint32_t>(q.Int(5));
    auto id = ObjectId::FromHex(q.Text(6));
    if (!id) continue;  // a damaged row only costs a re-read
    e.id = *id;
    e.chunked = q.Int(7) != 0;
    e.racy = q.Int(8) != 0;
    cache.entries_.emplace(q.Text(0), Slot{e, false});
  }
  return cache;
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

const StatEntry* StatCache::Find(const std::string& path) const {
  auto it = entries_.find(path);
  return it == entries_.end() ? nullptr : &it->second.entry;
}

const StatEntry* StatCache::Reuse(const std::string& path, const StatEntry& now) {
  auto it = entries_.find(path);
  if (it == entries_.end() || !it->second.entry.Matches(now)) return nullptr;
  it->second.seen = true;
  return &it->second.entry;
}

void StatCache::Put(const std::string& path, const StatEntry& e) {
  auto it = entries_.find(path);
  if (it != entries_.end()) it->second.seen = true;
  changed_[path] = e;
}

Status StatCache::Save(Db& db) {
  ASSIGN_OR_RETURN(Db::Tx tx, db.BeginWrite());
  ASSIGN_OR_RETURN(Stmt del, db.Prepare("DELETE FROM stat_cache WHERE path = ?"));
  for (const auto& [path, slot] : entries_) {
    if (slot.seen || changed_.count(path)) continue;
    del.Bind(1, path);
    RETURN_IF_ERROR(del.Run());
    del.Reset();
  }
  ASSIGN_OR_RETURN(
      Stmt put,
      db.Prepare("INSERT INTO stat_cache (path, size, mtime_ns, ctime_ns, ino, mode, id, chunked, "
                 "racy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET "
                 "size = excluded.size, mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, "
                 "ino = excluded.ino, mode = excluded.mode, id = excluded.id, "
                 "chunked = excluded.chunked, racy = excluded.racy"));
  for (const auto& [path, e] : changed_) {
    put.Bind(1, path)
        .Bind(2, static_cast<int64_t>(e.size))
        .Bind(3, e.mtime_ns)
        .Bind(4, e.ctime_ns)
        .Bind(5, static_cast<int64_t>(e.ino))
        .Bind(6, static_cast<int64_t>(e.mode))
        .Bind(7, e.id.hex())
        .Bind(8, int64_t{e.chunked})
        .Bind(9, int64_t{e.racy});
    RETURN_IF_ERROR(put.Run());
    put.Reset();
  }
  RETURN_IF_ERROR(tx.Commit());
  for (auto& [path, e] : changed_) entries_[path] = Slot{e, true};
  changed_.clear();
  return Status::Ok();
}

}  // namespace converge

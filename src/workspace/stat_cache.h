// The stat cache, as git's index: for each file captured before, the stat
// fields and the ID its content had. A file whose (size, mtime ns, ctime ns,
// inode, mode) are unchanged is not read again. An entry recorded "racy" (the
// file changed within the filesystem's timestamp granule of being hashed, so a
// later same-granule write would leave mtime unchanged) is always re-read.
//
// Like git's cache-tree and untracked cache, it also holds every directory
// the last snap captured: its own stat fields, its entries (files,
// subdirectories with their manifest IDs, symlinks with their targets) and
// the ID of the manifest the snap stored for it. A directory whose stat
// fields match is not listed again (its names are the cached ones;
// workspace/capture_walk.h says why that is sound). A capture whose entries
// for a directory come out exactly as cached reuses the manifest ID instead
// of encoding, hashing and storing the manifest again: entries are compared
// after the files' IDs are known, so that reuse never rests on stat alone.
// The header records the ignore rules all this was made under; other rules
// turn both off for that capture.
//
// It lives in one file, .converge/stat-cache (StatCache::kFileName; the
// layout is in stat_cache_layout.h), mapped whole and looked up in place: binary
// search by directory path, then by name, no allocation per entry.
// A snap (which holds the workspace lock) writes it whole, atomically (temp
// file, rename; not synced: a power loss may leave it old or torn, and the
// checksum below refuses a torn one), after its objects are durable and the
// snap is recorded, and only when it changed; an in-place restore writes it for the
// tree it restored (workspace/restore_cache.h), and status and diff refresh
// it (workspace/capture.h, RefreshStatCache). The capture streams the
// records into unlinked temp files in .converge/tmp as each directory is stored
// (StatCacheWriter::SpillTo), and the save copies them into the temp file in
// pieces: neither holds the file in memory, and a snap that fails or is
// killed before the rename leaves the old file and nothing else. The file
// is read mapped (MAP_POPULATE, file-backed pages: about 110 MB at a million
// files, which the kernel can drop and re-read, not heap). So a reader (status, diff) sees the old
// file or the new one, and every ID in it names an object under a recorded
// snap (whatever keeps a workspace's snaps' objects keeps the cache's; fsck
// checks them). A trailing BLAKE2b-256 checksum catches a torn or damaged
// file; such a file, or one of another version, is ignored: every file is
// read again and the next snap rewrites it. Nothing is lost: it is a cache.
// The file is mapped, never modified in place (a snap replaces it by rename).
//
// Before the file, the cache was rows of the workspace database's
// `stat_cache` table (store/schema.cpp, migration 1). Without a usable file,
// Load takes those rows (files only), so the first snap of a workspace made
// by an older converge does not read every file again; SaveStatCache then
// empties the table. stat_cache_disk.cpp is the only file with SQL against it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "store/db.h"
#include "store/hash.h"

namespace converge {

struct StatEntry {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t ino = 0;
  uint32_t mode = 0;
  ObjectId id;
  bool chunked = false;
  bool racy = false;

  // True when the stat fields match and the entry can be trusted.
  bool Matches(const StatEntry& now) const {
    return !racy && size == now.size && mtime_ns == now.mtime_ns && ctime_ns == now.ctime_ns &&
           ino == now.ino && mode == now.mode;
  }
};

enum class CachedKind : uint8_t { kFile = 0, kDir = 1, kSymlink = 2 };

// One entry of a cached directory, viewed in place: valid while its
// StatCache lives.
struct CachedEntry {
  std::string_view name;
  CachedKind kind = CachedKind::kFile;
  // File: its stat fields, content ID, chunked and racy. Dir: `id` is its
  // manifest. Symlink: nothing.
  StatEntry stat;
  bool executable = false;  // file: the exec bit its manifest entry had
  std::string_view target;  // symlink
};

// One row of the legacy table as stored, its ID unchecked: fsck reports a
// malformed one, where Load skips it.
struct StatCacheRow {
  std::string path;
  std::string id_hex;
  bool chunked = false;
};

class StatCache {
 public:
  static constexpr const char* kFileName = "stat-cache";
  static constexpr uint32_t kVersion = 1;

  // Empty: every file is read, no manifest is reused.
  StatCache() = default;

  // Parses the bytes of a cache file, checking the checksum and that every
  // offset, length and order is sound (a file with a valid checksum is still
  // never trusted to stay in bounds). Errors: kCorrupt (torn, damaged or not
  // a cache file), kInvalid (written in another version of the format).
  static Result<StatCache> Parse(std::string bytes);
  // The same over bytes `hold` keeps alive (a mapping of the file, say).
  // `mapped`: the bytes are a private read-only mapping of a file that is
  // never changed in place; the check then drops the pages it has read as it
  // goes (ReleasePages), so that it never holds the whole file at once.
  static Result<StatCache> Parse(std::shared_ptr<const char> hold, std::string_view bytes,
                                 bool mapped = false);

  // What a capture in the workspace whose .converge is `meta` uses: the
  // file; or, when it is missing or unusable, the legacy table's rows; or
  // nothing. `problem` (optional) gets why an existing file was unusable
  // ("" otherwise). Errors: the database's (reading the legacy table).
  static Result<StatCache> Load(const fs::path& meta, Db& db, std::string* problem = nullptr);

  // Loaded from the legacy table: SaveStatCache should empty it.
  bool from_table() const { return from_table_; }
  // Loaded from the file, which is then worth rewriting only when it changes.
  bool from_file() const { return from_file_; }
  // The ID of the ignore rules the directories' manifests were made under.
  const ObjectId& rules() const { return rules_; }

  size_t dir_count() const { return dirs_; }
  size_t entry_count() const { return entries_; }
  // The directory at `path` ('/'-separated, "" for the root), or -1.
  // Directories are sorted by path, bytewise; their indices are that order.
  int FindDir(std::string_view path) const;
  std::string_view DirPath(int dir) const;
  // The manifest a snap stored for the directory, if one is recorded.
  std::optional<ObjectId> DirManifest(int dir) const;
  // The directory's own stat fields when it was listed (racy: not to be
  // trusted), and whether an entry of it was skipped with a warning.
  StatEntry DirStat(int dir) const;
  bool DirWarned(int dir) const;
  // Its cached names may stand in for listing it: its stat fields match
  // `now` and no entry was skipped with a warning (which must be repeated).
  bool DirUnchanged(int dir, const StatEntry& now) const;
  uint32_t DirSize(int dir) const;
  // Entry `i` of the directory, entries sorted by name bytewise.
  CachedEntry At(int dir, uint32_t i) const;
  // The index of entry `name` in `dir`, or -1.
  int64_t FindEntry(int dir, std::string_view name) const;
  // The entry at `path` (a file's, a directory's or a symlink's).
  std::optional<CachedEntry> Find(std::string_view path) const;

  // The cached stat entry of file `name` in `dir` if it matches `now`
  // (StatEntry::Matches). Read-only: the capture walk calls this from
  // several threads at once.
  std::optional<StatEntry> Reuse(int dir, std::string_view name, const StatEntry& now) const;
  // The same for entry `i` of `dir` (0 <= i < DirSize(dir)).
  std::optional<StatEntry> ReuseAt(int dir, int64_t i, const StatEntry& now) const;

  // Drops the mapped file's pages from this process's memory (they are
  // read again from the page cache as lookups touch them): a capture calls
  // it every few thousand directories, so that what it holds of the cache
  // is what the walk is at, not the whole file. Nothing when not mapped.
  // Safe beside lookups on other threads: the file never changes in place.
  void ReleasePages() const;

  // Legacy table (fsck of a workspace whose file was never written): every
  // row, unchecked, and dropping rows in one write transaction (a database
  // error drops none). Errors: the database's.
  static Result<std::vector<StatCacheRow>> ListRows(Db& db);
  static Status Drop(Db& db, const std::vector<std::string>& paths);
  static Status EmptyTable(Db& db);

 private:
  static Result<StatCache> FromTable(Db& db);
  const char* DirRecord(int dir) const;
  const char* EntryRecord(uint32_t index) const;
  std::string_view String(uint32_t off, uint32_t len) const;

  std::shared_ptr<const char> hold_;  // keeps bytes_ alive: a string or a mapping
  std::string_view bytes_;
  size_t dirs_ = 0, entries_ = 0;
  size_t dirs_at_ = 0, entries_at_ = 0, strings_at_ = 0, strings_len_ = 0;
  ObjectId rules_;
  bool from_table_ = false, from_file_ = false;
  bool mapped_ = false;  // bytes_ is a read-only mapping of the file
};

// Builds the bytes of a cache file: a directory, then its entries in name
// order (bytewise, no duplicates), then the next directory; directories in
// any order (the file sorts them by path). In memory by default; after
// SpillTo, the entries and names (nearly all of the file) go to unlinked temp
// files as they come, and only the directories' records and paths stay in
// memory (about 100 bytes a directory), so a capture of a million files
// writes its cache in bounded memory.
class StatCacheWriter {
 public:
  explicit StatCacheWriter(const ObjectId& rules);
  StatCacheWriter(const StatCacheWriter&) = delete;
  StatCacheWriter& operator=(const StatCacheWriter&) = delete;

  // Keeps the entries and names in two unlinked temp files made in
  // `tmp_dir` (gone with this writer, crash or not). Call before adding
  // anything. Errors: kIo.
  Status SpillTo(const fs::path& tmp_dir);
  // Room for this many directories, entries and bytes of names, paths and
  // targets (an estimate: only saves growing).
  void Reserve(size_t dirs, size_t entries, size_t string_bytes);
  // `manifest`: the manifest the snap stored for it, if any; `stat`: its own
  // stat fields as listed (racy when not to be trusted); `warned`: an entry
  // of it was skipped with a warning.
  void Dir(std::string_view path, const std::optional<ObjectId>& manifest, const StatEntry& stat,
           bool warned);
  void File(std::string_view name, const StatEntry& e, bool executable);
  void Subdir(std::string_view name, const ObjectId& manifest);
  void Symlink(std::string_view name, std::string_view target);
  // The first error writing a spill file (kIo), else Ok.
  const Status& status() const { return status_; }

  // The file's bytes, in pieces, in order (the checksum last): each piece
  // goes to `out` and is gone after it returns. Call once, at the end.
  Status Emit(const std::function<Status(std::string_view)>& out);
  // Emit into one string (a writer that never spilled: small caches, tests).
  std::string Finish();

 private:
  struct DirRec {
    uint32_t path_off, path_len, first, count;
    std::optional<ObjectId> manifest;
    StatEntry stat;
    bool warned;
    size_t mem_off;  // its path in paths_
  };
  // Bytes of one region: a spill file's, then what is not flushed yet.
  struct Region {
    Fd fd;  // invalid: all in `buf`
    uint64_t flushed = 0;
    std::string buf;
    uint64_t size() const { return flushed + buf.size(); }
  };
  void Add(std::string_view name, CachedKind kind, const StatEntry& e, uint8_t flags,
           std::string_view target);
  uint32_t Intern(std::string_view s);
  void Append(Region& r, std::string_view bytes);
  Status EmitRegion(Region& r, const std::function<Status(std::string_view)>& out);

  ObjectId rules_;
  std::vector<DirRec> dirs_;
  std::string paths_;  // the directories' paths, for sorting them
  Region entries_;     // fixed-size records
  uint64_t entry_count_ = 0;
  Region strings_;
  Status status_;
};

// The ID of the ignore rules `text` (a .convergeignore's bytes, "" for none).
ObjectId IgnoreRulesId(std::string_view text);

// Replaces the workspace's cache file with `bytes` (temp file, rename; no
// fsync: base/fs.h ReplaceCacheFileFrom), then, when `empty_table`, deletes the legacy table's
// rows. Needs the workspace lock. Errors: kIo, the database's.
Status SaveStatCache(const fs::path& meta, Db& db, std::string_view bytes, bool empty_table);
// The same, the file's bytes streamed from `writer` (StatCacheWriter::Emit)
// to the temp file, never whole in memory.
Status SaveStatCache(const fs::path& meta, Db& db, StatCacheWriter& writer, bool empty_table);
// The warning for a stat cache that could not be made or written (`why`),
// ending with `then`: what the next snap does instead.
std::string StatCacheWarning(const std::string& why, const std::string& then);
// For a command that made a cache (`writer`; null: none to save): saves it,
// and returns nullopt, or the warning to show when that failed, ending with
// `then` (what the next snap does instead): never an error of the command.
std::optional<std::string> SaveStatCacheOrWarn(const fs::path& meta, Db& db,
                                               StatCacheWriter* writer, bool empty_table,
                                               const std::string& then);

}  // namespace converge

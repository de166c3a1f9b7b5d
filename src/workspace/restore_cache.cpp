#include "workspace/restore_cache.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "base/random.h"
#include "base/text.h"
#include "store/tree.h"
#include "store/tree_depth.h"
#include "workspace/dir_cursor.h"
#include "workspace/file_content.h"
#include "workspace/materialize.h"
#include "workspace/stat_cache.h"

namespace converge {

static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);

WrittenFiles::WrittenFiles() {
  InitCrypto();
  randombytes_buf(key_, sizeof key_);
}

uint64_t WrittenFiles::Key(const struct stat& st) const {
  StatEntry e = StatFields(st);
  unsigned char in[36], out[8];
  std::memcpy(in, &e.ino, 8);
  std::memcpy(in + 8, &e.size, 8);
  std::memcpy(in + 16, &e.mtime_ns, 8);
  std::memcpy(in + 24, &e.ctime_ns, 8);
  std::memcpy(in + 32, &e.mode, 4);
  crypto_shorthash(out, in, sizeof in, key_);
  uint64_t key;
  std::memcpy(&key, out, 8);
  return key;
}

void WrittenFiles::Add(const struct stat& st) {
  uint64_t key = Key(st);
  std::lock_guard<std::mutex> lock(mu_);
  keys_.push_back(key);
}

void WrittenFiles::Seal() {
  std::sort(keys_.begin(), keys_.end());
}

bool WrittenFiles::Has(const struct stat& st) const {
  return std::binary_search(keys_.begin(), keys_.end(), Key(st));
}

namespace {

// The warning for a cache the walk could not make.
std::string NotRecorded(const Status& why) {
  return "could not record the restored files in the stat cache (" + why.message() +
         "): the next snap reads them again";
}

// Depth first over the snap's manifests with an explicit stack and one open
// directory (DirCursor), as Materializer::Fill: each directory's record and
// entries go to the cache when the walk arrives in it. After the first
// problem with the tree on disk, the walk only counts. Filling, it first
// writes what the directory lacks (a problem is then an error).
class CacheWalk {
 public:
  CacheWalk(const TreeReader& reader, const WrittenFiles& written, const StatCache& old,
            StatCacheWriter* cache, bool fill, RestoredTree& out)
      : reader_(reader), written_(written), old_(old), cache_(cache), fill_(fill), out_(out) {}

  Status Run(std::shared_ptr<Fd> root_dir, const ObjectId& root) {
    std::optional<DirCursor> at;
    if (cache_ || fill_) {
      Result<DirCursor> c = DirCursor::At(std::move(root_dir), "");
      if (c.ok())
        at.emplace(std::move(*c));
      else
        RETURN_IF_ERROR(Step(c.status()));
    }
    ASSIGN_OR_RETURN(Manifest top, reader_.ReadManifest(root));
    stack_.push_back({std::move(top), 0, "", root, at.has_value()});
    if (at) RETURN_IF_ERROR(Arrive(*at, stack_.back()));
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.next == f.m.entries.size()) {
        bool entered = f.entered;
        stack_.pop_back();
        if (!stack_.empty() && at && entered) RETURN_IF_ERROR(Step(at->Leave()));
        continue;
      }
      const Entry& e = f.m.entries[f.next++];
      std::string path = JoinPath(f.rel, e.name);
      RETURN_IF_ERROR(CheckEntryName(e, path));
      TreeSummary& s = out_.summary;
      if (e.type == EntryType::kFile) s.files++, s.bytes += e.size;
      if (e.type == EntryType::kSymlink) s.symlinks++;
      if (e.type != EntryType::kDir) continue;
      s.dirs++;
      RETURN_IF_ERROR(CheckLevel(stack_.size(), path));
      ASSIGN_OR_RETURN(Manifest sub, reader_.ReadManifest(e.id));
      ObjectId id = e.id;
      bool entered = false;
      if (at && f.entered && (cache_ || fill_)) {
        Status in = at->Enter(e.name);
        if (fill_ && in.code() == Code::kNotFound) in = at->MakeAndEnter(e.name);
        entered = in.ok();
        RETURN_IF_ERROR(Step(in));
      }
      stack_.push_back({std::move(sub), 0, std::move(path), id, entered});  // `f`, `e` unused after
      if (entered) RETURN_IF_ERROR(Arrive(*at, stack_.back()));
    }
    return Status::Ok();
  }

 private:
  struct Frame {
    Manifest m;
    size_t next = 0;
    std::string rel;
    ObjectId id;
    bool entered = false;  // the cursor went into it
  };

  void Problem(const Status& st) {
    if (!cache_) return;  // told once
    out_.warnings.push_back(NotRecorded(st));
    cache_ = nullptr;
  }
  // A problem with the tree on disk: an error when filling, else the end of the cache.
  Status Step(const Status& st) {
    if (st.ok() || fill_) return st;
    Problem(st);
    return Status::Ok();
  }
  Status Arrive(const DirCursor& at, const Frame& f) {
    if (fill_) RETURN_IF_ERROR(Fill(at, f));
    if (cache_) RecordDir(at, f);
    return Status::Ok();
  }

  // Writes the files and symlinks directory `f` lacks, or holds other than
  // as `written_` says they were made (files re-hashed from the store as
  // restore writes them; one in the way is replaced), noting the stat
  // fields of each file written here. Its subdirectories are made when the
  // walk gets to them.
  Status Fill(const DirCursor& at, const Frame& f) {
    fresh_.clear();
    for (const Entry& e : f.m.entries) {
      if (e.type == EntryType::kDir) continue;
      std::string path = JoinPath(f.rel, e.name);
      RETURN_IF_ERROR(CheckEntryName(e, path));
      struct stat st;
      bool there = ::fstatat(at.fd(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
      if (e.type == EntryType::kFile && there && S_ISREG(st.st_mode) && written_.Has(st)) continue;
      WriteMode mode = there ? WriteMode::kReplace : WriteMode::kCreate;
      out_.filled++;
      if (e.type == EntryType::kSymlink) {
        RETURN_IF_ERROR(WriteSymlinkAt(at.fd(), e, path, mode));
        continue;
      }
      RETURN_IF_ERROR(WriteFileAt(reader_, at.fd(), e, path, mode));
      if (::fstatat(at.fd(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        fresh_.emplace(e.name, StatFields(st));
    }
    return Status::Ok();
  }

  // The directory's record (racy: the next snap lists it) and its entries.
  void RecordDir(const DirCursor& at, const Frame& f) {
    if (!cache_) return;
    struct stat st;
    if (::fstat(at.fd(), &st) != 0) return Problem(ErrnoStatus("stat " + Quote(f.rel), errno));
    StatEntry dir = StatFields(st);
    dir.racy = true;
    cache_->Dir(f.rel, f.id, dir, false);
    int cached = old_.FindDir(f.rel);
    for (const Entry& e : f.m.entries) {
      if (e.type == EntryType::kDir) cache_->Subdir(e.name, e.id);
      if (e.type == EntryType::kSymlink) cache_->Symlink(e.name, e.target);
      if (e.type == EntryType::kFile) cache_->File(e.name, FileStat(at, cached, e), e.executable);
    }
  }

  // The file's stat fields now, with the snap's ID: trusted when the restore
  // wrote the file as it is now, or the old cache vouched for it with the
  // same ID; racy otherwise (and when it cannot be stat'ed or is no longer
  // a regular file of the snap's size).
  StatEntry FileStat(const DirCursor& at, int cached, const Entry& e) {
    StatEntry now;
    struct stat st;
    bool there = ::fstatat(at.fd(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                 S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == e.size;
    if (there) now = StatFields(st);
    now.id = e.id;
    now.chunked = e.chunked;
    bool trusted = false;
    auto it = fresh_.find(e.name);
    if (there && (written_.Has(st) ||
                  (it != fresh_.end() && !it->second.racy && it->second.Matches(StatFields(st))))) {
      trusted = true;
    } else if (there && cached >= 0) {
      std::optional<StatEntry> was = old_.Reuse(cached, e.name, now);
      trusted = was && was->id == e.id && was->chunked == e.chunked;
    }
    now.racy = !trusted;
    if (trusted) out_.trusted++;
    return now;
  }

  const TreeReader& reader_;
  const WrittenFiles& written_;
  const StatCache& old_;
  StatCacheWriter* cache_;  // null once a problem stopped it
  bool fill_;
  RestoredTree& out_;
  std::unordered_map<std::string, StatEntry> fresh_;  // filling: this directory's files written
  std::vector<Frame> stack_;
};

}  // namespace

Result<RestoredTree> WalkRestoredTree(Workspace& ws, const ObjectId& root,
                                      const WrittenFiles& written, bool fill) {
  RestoredTree out;
  TreeReader reader(ws.store());
  StatCache old;
  std::shared_ptr<Fd> root_dir;
  std::shared_ptr<StatCacheWriter> cache;
  Status ready = [&]() -> Status {
    ASSIGN_OR_RETURN(old, StatCache::Load(ws.meta(), ws.db()));
    ASSIGN_OR_RETURN(std::string rules, ReadIgnoreText(ws.root()));
    cache = std::make_shared<StatCacheWriter>(IgnoreRulesId(rules));
    RETURN_IF_ERROR(cache->SpillTo(ws.meta() / "tmp"));
    int fd = ::open(ws.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open " + Quote(ws.root().string()), errno);
    root_dir = std::make_shared<Fd>(fd);
    return Status::Ok();
  }();
  if (!ready.ok() && fill) return ready;
  CacheWalk walk(reader, written, old, ready.ok() ? cache.get() : nullptr, fill, out);
  if (!ready.ok()) out.warnings.push_back(NotRecorded(ready));
  RETURN_IF_ERROR(walk.Run(root_dir, root));
  if (ready.ok() && out.warnings.empty() && !cache->status().ok())
    out.warnings.push_back(NotRecorded(cache->status()));
  if (ready.ok() && out.warnings.empty()) {
    out.cache = std::move(cache);
    out.cache_from_table = old.from_table();
  }
  return out;
}

std::optional<std::string> SaveRestoredStatCache(Workspace& ws, const RestoredTree& tree) {
  return SaveStatCacheOrWarn(ws.meta(), ws.db(), tree.cache.get(), tree.cache_from_table,
                             "the next snap reads the restored files again");
}

}  // namespace converge

// CloneWriter (client/clone_writer.h): a clone's tree, written as it arrives.
#include "client/clone_writer.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "base/text.h"
#include "store/tree_depth.h"
#include "workspace/materialize.h"

namespace converge {

namespace {

// `path` under `root`, resolved by the kernel without leaving `root` and
// without following any symlink (a component that is one fails, ELOOP or
// EXDEV): -1 with errno set otherwise, ENOSYS on kernels before 5.6.
int OpenBeneath(int root, const std::string& path, uint64_t flags, uint64_t mode) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, path.c_str(), &how, sizeof(how)));
}

// Paths waiting for their objects, at most (about 150 bytes each, 4.5 MB in
// all): a download receives a request's worth of manifests (10,000
// directories, 100,000 files of the million-file bench tree) before it asks
// for their blobs, and a name met after its object arrived waits for good.
// Past the limit, new names are left to CompleteRestore: the million-file
// clone's peak RSS (issue 14: at most 200 MiB) had no room for more.
constexpr size_t kMaxWaiting = 30000;

// Bytes of blobs queued for the writing thread, at most: past it, the
// download waits. A copy of each blob is queued (the download hands its own
// on to the store), counted in the memory budget (store/memory_budget.h).
constexpr uint64_t kMaxQueuedBytes = 8u << 20;

// What waits in `m` for `id`, taken out and counted off `waiting` (the
// caller holds the lock of both).
template <class T>
std::vector<T> TakeWaiting(std::unordered_map<ObjectId, std::vector<T>>& m, const ObjectId& id,
                           size_t& waiting) {
  auto it = m.find(id);
  if (it == m.end()) return {};
  std::vector<T> out = std::move(it->second);
  waiting -= out.size();
  m.erase(it);
  return out;
}

// Adds `items` to what waits in `m`, while `waiting` is under kMaxWaiting;
// false once it is not (the rest are left out).
template <class T>
bool AddWaiting(std::unordered_map<ObjectId, std::vector<T>>& m,
                std::vector<std::pair<ObjectId, T>>& items, size_t& waiting) {
  for (auto& [id, item] : items) {
    if (waiting >= kMaxWaiting) return false;
    m[id].push_back(std::move(item));
    waiting++;
  }
  return true;
}

// Levels below the root of the directory at `path` ("" is the root).
uint64_t Level(const std::string& path) {
  return path.empty() ? 0 : 1 + static_cast<uint64_t>(std::count(path.begin(), path.end(), '/'));
}

}  // namespace

Result<std::unique_ptr<CloneWriter>> CloneWriter::Open(const fs::path& root, const ObjectId& snap) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open " + Quote(root.string()), errno);
  return std::make_unique<CloneWriter>(Fd(fd), snap);
}

CloneWriter::CloneWriter(Fd root, const ObjectId& snap)
    : root_(std::move(root)), snap_(snap), worker_([this] { Work(); }) {}

CloneWriter::~CloneWriter() {
  Finish();
}

void CloneWriter::Finish() {
  {
    std::lock_guard<std::mutex> hold(queue_mu_);
    if (finishing_) return;
    finishing_ = true;
  }
  queue_cv_.notify_all();
  worker_.join();
  written_.Seal();
}

// Takes everything queued at once: a clone of small files queues a job per
// file, and a hand-off per job (a lock and a wake-up each) cost more than
// the writes.
void CloneWriter::Work() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  for (;;) {
    queue_cv_.wait(lock, [this] { return finishing_ || !queue_.empty(); });
    if (queue_.empty()) return;
    std::deque<Job> batch;
    batch.swap(queue_);
    lock.unlock();
    uint64_t bytes = 0;
    for (const Job& job : batch) {
      for (const File& f : job.targets) Write(f, job.bytes.view());
      for (const Piece& p : job.pieces) WritePiece(p, job.bytes.view());
      bytes += job.bytes.view().size();
    }
    batch.clear();  // gives the memory budget back before the room is announced
    lock.lock();
    queued_bytes_ -= bytes;
    queue_cv_.notify_all();
  }
}

void CloneWriter::Metadata(ObjectKind kind, const ObjectId& id, std::string_view bytes) {
  if (kind == ObjectKind::kSnap) {
    if (id != snap_) return;
    Result<Snap> snap = DecodeSnap(bytes);
    if (!snap.ok()) return;
    std::lock_guard<std::mutex> hold(mu_);
    dirs_[snap->root].push_back("");
    waiting_++;
    return;
  }
  if (kind == ObjectKind::kChunkList) {
    std::vector<File> files;
    {
      std::lock_guard<std::mutex> hold(mu_);
      files = TakeWaiting(lists_, id, waiting_);
    }
    if (!files.empty()) StartChunked(std::move(files), bytes);
    return;
  }
  if (kind != ObjectKind::kManifest) return;
  std::vector<std::string> paths;
  {
    std::lock_guard<std::mutex> hold(mu_);
    paths = TakeWaiting(dirs_, id, waiting_);
  }
  if (paths.empty()) return;
  Result<Manifest> m = DecodeManifest(bytes);
  if (!m.ok()) return;
  for (const std::string& dir : paths) Place(dir, *m);
}

void CloneWriter::Place(const std::string& dir, const Manifest& m) {
  uint64_t level = Level(dir);
  int fd =
      dir.empty() ? ::dup(root_.get()) : OpenBeneath(root_.get(), dir, O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return;
  Fd at(fd);
  std::vector<std::pair<ObjectId, std::string>> subdirs;
  std::vector<std::pair<ObjectId, File>> files, chunked;
  for (const Entry& e : m.entries) {
    std::string path = JoinPath(dir, e.name);
    if (!CheckEntryName(e, path).ok()) continue;
    if (e.type == EntryType::kDir) {
      if (level + 1 > kMaxTreeDepth || ::mkdirat(at.get(), e.name.c_str(), 0777) != 0) continue;
      subdirs.emplace_back(e.id, std::move(path));
    } else if (e.type == EntryType::kFile) {
      (e.chunked ? chunked : files).emplace_back(e.id, File{std::move(path), e.executable, e.size});
    }
  }
  std::lock_guard<std::mutex> hold(mu_);
  if (AddWaiting(dirs_, subdirs, waiting_) && AddWaiting(files_, files, waiting_))
    AddWaiting(lists_, chunked, waiting_);
}

void CloneWriter::StartChunked(std::vector<File> files, std::string_view bytes) {
  Result<ChunkList> list = DecodeChunkList(bytes);
  if (!list.ok() || list->chunks.empty()) return;
  std::vector<std::pair<ObjectId, Piece>> pieces;
  for (File& f : files) {
    if (list->size != f.size) continue;  // the download refuses the transfer
    int fd = OpenBeneath(root_.get(), f.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                         f.executable ? 0777 : 0666);
    if (fd < 0) continue;
    ::close(fd);
    auto file = std::make_shared<Chunked>(std::move(f.path), list->chunks.size());
    uint64_t at = 0;
    for (const ChunkList::Chunk& c : list->chunks) {
      pieces.emplace_back(c.blob, Piece{file, at, c.size});
      at += c.size;
    }
  }
  std::lock_guard<std::mutex> hold(mu_);
  AddWaiting(pieces_, pieces, waiting_);  // past the limit, files stay incomplete, never trusted
}

void CloneWriter::Blob(const ObjectId& id, std::string_view bytes) {
  Job job;
  {
    std::lock_guard<std::mutex> hold(mu_);
    job.targets = TakeWaiting(files_, id, waiting_);
    job.pieces = TakeWaiting(pieces_, id, waiting_);
  }
  if (job.targets.empty() && job.pieces.empty()) return;
  if (!job.bytes.Reserve(bytes.size()) || !job.bytes.Append(bytes)) {
    // No room for a copy in the memory budget: written on the download's thread.
    for (const File& f : job.targets) Write(f, bytes);
    for (const Piece& p : job.pieces) WritePiece(p, bytes);
    return;
  }
  std::unique_lock<std::mutex> lock(queue_mu_);
  queue_cv_.wait(lock, [this] { return queue_.empty() || queued_bytes_ < kMaxQueuedBytes; });
  if (finishing_) return;
  queued_bytes_ += job.bytes.view().size();
  bool was_empty = queue_.empty();  // else the writer takes it with the rest
  queue_.push_back(std::move(job));
  lock.unlock();
  if (was_empty) queue_cv_.notify_all();
}

void CloneWriter::Write(const File& f, std::string_view bytes) {
  if (bytes.size() != f.size) return;  // the download refuses the transfer
  int fd = OpenBeneath(root_.get(), f.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                       f.executable ? 0777 : 0666);
  if (fd < 0) return;
  Fd out(fd);
  struct stat st;
  // The path names the file only in an error, which is not shown.
  bool ok = WriteAll(fd, bytes, f.path).ok() && ::fstat(fd, &st) == 0;
  ok = ::close(out.release()) == 0 && ok;
  if (!ok) {
    // Beneath the root, through directories this writer made.
    ::unlinkat(root_.get(), f.path.c_str(), 0);
    return;
  }
  written_.Add(st);
  files_written_++;
}

void CloneWriter::WritePiece(const Piece& p, std::string_view bytes) {
  Chunked& f = *p.file;
  bool ok = bytes.size() == p.size;
  if (ok) {
    int fd = OpenBeneath(root_.get(), f.path, O_WRONLY | O_NOFOLLOW, 0);
    Fd out(fd);
    for (size_t done = 0; ok && fd >= 0 && done < bytes.size();) {
      ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                           static_cast<off_t>(p.offset + done));
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<size_t>(n);
    }
    ok = ok && fd >= 0 && ::close(out.release()) == 0;
  }
  if (!ok) f.failed = true;
  // The last chunk in (each is counted once its write is done, on whichever
  // thread): the file is whole unless a chunk failed.
  if (f.left.fetch_sub(1) != 1 || f.failed) return;
  int fd = OpenBeneath(root_.get(), f.path, O_RDONLY | O_NOFOLLOW, 0);
  if (fd < 0) return;
  Fd in(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  written_.Add(st);
  files_written_++;
}

}  // namespace converge

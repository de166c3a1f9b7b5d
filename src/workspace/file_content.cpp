#include "workspace/file_content.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "base/fs.h"
#include "store/chunker.h"
#include "store/index_fold.h"
#include "store/objects.h"

namespace converge {

CaptureSink::CaptureSink(ObjectStore& store, uint64_t batch_objects)
    : store_(&store),
      batch_objects_(std::max<uint64_t>(batch_objects, 1)),
      owned_(std::make_unique<WriteBatch>(store)),
      batch_(owned_.get()) {}

Result<ObjectId> CaptureSink::Put(std::string_view bytes, ObjectKind kind) {
  ObjectId id = ObjectId::Of(bytes);
  if (!store_ && !batch_) return id;  // batch_ changes only when store_ is set
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (batch_->store().Has(id)) return id;
    // Hashed once, here: the batch takes the ID as it is (every read re-hashes).
    ASSIGN_OR_RETURN(bool added, batch_->PutHashed(id, bytes, kind));
    if (!added) return id;
    written_++;
    if (!owned_ || ++in_batch_ < batch_objects_) return id;
  }
  RETURN_IF_ERROR(Rotate());
  return id;
}

Status CaptureSink::Rotate() {
  std::unique_ptr<WriteBatch> full;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    if (in_batch_ < batch_objects_) return Status::Ok();  // another thread rotated
    full = std::exchange(owned_, std::make_unique<WriteBatch>(*store_));
    batch_ = owned_.get();
    in_batch_ = 0;
  }
  RETURN_IF_ERROR(full->Commit());
  committed_++;
  // Every new object is first looked up in every index (Has above): a
  // capture of a million files would search 16 by its end. A fold that
  // fails here is tried again at the capture's end, which reports it.
  (void)FoldIndexes(*store_);
  return Status::Ok();
}

Status CaptureSink::Commit() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (!owned_) return Status::Ok();
  RETURN_IF_ERROR(owned_->Commit());
  committed_++;
  return Status::Ok();
}

Result<std::string> ReadIgnoreText(const fs::path& root) {
  Result<std::string> text = ReadFile(root / ".convergeignore");
  if (!text.ok() && text.status().code() == Code::kNotFound) return std::string();
  return text;
}

StatEntry StatFields(const struct stat& st) {
  StatEntry e;
  e.size = static_cast<uint64_t>(st.st_size);
  e.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  e.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec;
  e.ino = st.st_ino;
  e.mode = st.st_mode;
  return e;
}

namespace {

// Room for the first read (the threshold test) and for two maximal chunks,
// a thread's for its life. Never zeroed: a read touches only the pages it
// fills, so a small file costs a page or two of it, not the 4 MiB (zeroing
// it cost every capturing thread ~1,000 page faults, 40 ms of a 1 % re-snap
// on a VM where a fault costs 40 us).
struct ReadBuffer {
  static constexpr size_t kSize =
      std::max<size_t>(2 * ChunkParams::kMax, ChunkParams::kThreshold + 1);
  std::unique_ptr<unsigned char[]> bytes = std::make_unique_for_overwrite<unsigned char[]>(kSize);
  unsigned char* data() { return bytes.get(); }
  static constexpr size_t size() { return kSize; }
};

// Reads until `buf` holds `want` bytes or the file ends.
Result<size_t> Fill(int fd, ReadBuffer& buf, size_t have, size_t want, const std::string& display) {
  while (have < want) {
    ASSIGN_OR_RETURN(size_t n, ReadSome(fd, reinterpret_cast<char*>(buf.data()) + have, want - have,
                                        "'" + display + "'"));
    if (n == 0) break;
    have += n;
  }
  return have;
}

// Stores the file's content: one blob when it is at most kThreshold bytes,
// else chunk blobs plus a chunk list. The rule looks at the bytes actually
// read, so a file that grows while it is read is still stored consistently.
Result<ObjectId> StoreContent(int fd, const std::string& display, CaptureSink& sink,
                              uint64_t* total, bool* chunked) {
  thread_local ReadBuffer buf;
  ASSIGN_OR_RETURN(size_t have, Fill(fd, buf, 0, ChunkParams::kThreshold + 1, display));
  *total = have;
  *chunked = have > ChunkParams::kThreshold;
  if (!*chunked) return sink.Put(std::string_view(reinterpret_cast<char*>(buf.data()), have));
  ChunkList list;
  size_t begin = 0;
  bool eof = false;
  for (;;) {
    // Refill only when less than a maximal chunk is left, so a chunk's end is
    // always decided with kMax bytes in view (or the end of the file).
    if (!eof && have - begin < ChunkParams::kMax) {
      std::copy(buf.data() + begin, buf.data() + have, buf.data());
      have -= begin;
      begin = 0;
      ASSIGN_OR_RETURN(size_t filled, Fill(fd, buf, have, buf.size(), display));
      eof = filled < buf.size();
      have = filled;
    }
    if (begin == have) break;
    size_t len = NextChunkLength(buf.data() + begin, have - begin);
    ASSIGN_OR_RETURN(ObjectId id,
                     sink.Put(std::string_view(reinterpret_cast<char*>(buf.data()) + begin, len)));
    list.chunks.push_back({id, len});
    list.size += len;
    begin += len;
  }
  *total = list.size;
  return sink.Put(EncodeChunkList(list), ObjectKind::kChunkList);
}

}  // namespace

Result<FileContent> CaptureFile(int dirfd, const std::string& name, const std::string& display,
                                int64_t fs_now_ns, CaptureSink& sink) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    Status st = ErrnoStatus("cannot read '" + display + "'", errno);
    return Status(st.code(), st.message() + " (fix its permissions or add it to .convergeignore)");
  }
  Fd owner(fd);
  struct stat before, after;
  if (::fstat(fd, &before) != 0) return ErrnoStatus("stat '" + display + "'", errno);
  if (!S_ISREG(before.st_mode))
    return Conflict("'" + display + "' stopped being a regular file while it was captured");
  FileContent out;
  uint64_t size = 0;
  bool chunked = false;
  ASSIGN_OR_RETURN(ObjectId id, StoreContent(fd, display, sink, &size, &chunked));
  if (::fstat(fd, &after) != 0) return ErrnoStatus("stat '" + display + "'", errno);
  out.stat = StatFields(after);
  out.stat.id = id;
  out.stat.chunked = chunked;
  out.stat.size = size;
  // Changed while we read it, or so recently that a same-granule write would
  // not move mtime: what we read may not be what a later stat would suggest.
  out.stat.racy = StatFields(before).mtime_ns != out.stat.mtime_ns ||
                  static_cast<uint64_t>(after.st_size) != size || out.stat.mtime_ns >= fs_now_ns ||
                  out.stat.ctime_ns >= fs_now_ns;
  out.bytes_read = size;
  return out;
}

}  // namespace converge

// Small POSIX file helpers: an owning file descriptor, whole writes and reads,
// and the atomic write (temp file, fsync, rename, fsync dir) every durable
// file in converge goes through.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace converge {

namespace fs = std::filesystem;

// "open 'x': No such file or directory" style text for the current errno.
Status ErrnoStatus(const std::string& what, int err);

// An owning file descriptor: closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

Result<Fd> OpenRead(const fs::path& path);
// Writes all of `data`, retrying short writes and EINTR.
Status WriteAll(int fd, std::string_view data, const std::string& what);
// Reads up to `cap` bytes; returns the count (0 at end of file).
Result<size_t> ReadSome(int fd, char* buf, size_t cap, const std::string& what);

// Reads a whole (small) file. Fails with kNotFound when it does not exist.
Result<std::string> ReadFile(const fs::path& path);

// Replaces `path` atomically: a crash leaves the old or the new content, never
// a mix. The file gets `mode` (0600 for secrets) before any byte is written.
Status WriteFileAtomic(const fs::path& path, std::string_view data, unsigned mode = 0644);

// The same, the bytes handed by `emit` to the sink it is given, piece by
// piece (never whole in memory), through a temp file in `temp_dir` (on the
// file system of `path`: where a crash leaves it, for a sweeper to find).
using ByteSink = std::function<Status(std::string_view)>;
Status WriteFileAtomicFrom(const fs::path& path, const fs::path& temp_dir, unsigned mode,
                           const std::function<Status(const ByteSink&)>& emit);

// The same without any fsync: readers see the old file or the new one whole
// (the rename), but a crash may leave either, or after a power loss a file
// torn or empty. For a cache only, whose reader checks what it reads (a
// checksum) and whose loss costs only work: the stat cache.
Status ReplaceCacheFileFrom(const fs::path& path, const fs::path& temp_dir, unsigned mode,
                            const std::function<Status(const ByteSink&)>& emit);

// fsync on a directory, so a rename or create inside it is durable.
Status FsyncDir(const fs::path& dir);

// A unique name for a temp file: "<prefix>.<random>.tmp".
std::string TempName(std::string_view prefix);

// Whether `name` is the temp file WriteFileAtomic names beside its target
// (".<target>.<16 hex>.tmp"): a leftover of a write that was killed, or one
// still running.
bool IsAtomicWriteTemp(std::string_view name);
// The regular files directly in `dir` that IsAtomicWriteTemp names (none
// when `dir` cannot be listed).
std::vector<fs::path> AtomicWriteTemps(const fs::path& dir);

// Creates `dir` and its parents with `mode` for the ones it makes.
Status MakeDirs(const fs::path& dir, unsigned mode = 0755);

}  // namespace converge

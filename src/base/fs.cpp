#include "base/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/hex.h"
#include "base/random.h"

namespace converge {

Status ErrnoStatus(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOENT) return NotFound(msg);
  // Worded the same everywhere (and by the database layer): the server tells
  // a full disk apart by it, to answer 507 instead of 500.
  if (err == ENOSPC || err == EDQUOT)
    return IoError(what + ": the disk is full (" + std::strerror(err) +
                   "); free some space and try again");
  return IoError(msg);
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Fd> OpenRead(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open '" + path.string() + "'", errno);
  return Fd(fd);
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write " + what, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<size_t> ReadSome(int fd, char* buf, size_t cap, const std::string& what) {
  for (;;) {
    ssize_t n = ::read(fd, buf, cap);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoStatus("read " + what, errno);
  }
}

Result<std::string> ReadFile(const fs::path& path) {
  ASSIGN_OR_RETURN(Fd fd, OpenRead(path));
  std::string out;
  char buf[65536];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, ReadSome(fd.get(), buf, sizeof buf, "'" + path.string() + "'"));
    if (n == 0) break;
    out.append(buf, n);
  }
  return out;
}

std::string TempName(std::string_view prefix) {
  return std::string(prefix) + "." + RandomHex(8) + ".tmp";
}

bool IsAtomicWriteTemp(std::string_view name) {
  constexpr std::string_view kTail = ".tmp";
  constexpr size_t kRandom = 16;  // RandomHex(8)
  if (name.size() < 2 + 1 + kRandom + kTail.size() || name.front() != '.' || !name.ends_with(kTail))
    return false;
  name.remove_suffix(kTail.size());
  std::string_view random = name.substr(name.size() - kRandom);
  name.remove_suffix(kRandom);
  return name.back() == '.' && name.size() >= 3 && IsLowerHex(random);
}

std::vector<fs::path> AtomicWriteTemps(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    std::error_code fec;
    if (IsAtomicWriteTemp(f.path().filename().string()) && f.is_regular_file(fec))
      out.push_back(f.path());
  }
  return out;
}

Status FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory '" + dir.string() + "'", errno);
  Fd owner(fd);
  if (::fsync(fd) != 0) return ErrnoStatus("fsync '" + dir.string() + "'", errno);
  return Status::Ok();
}

Status WriteFileAtomic(const fs::path& path, std::string_view data, unsigned mode) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  return WriteFileAtomicFrom(path, dir, mode, [&](const ByteSink& sink) { return sink(data); });
}

namespace {

Status ReplaceFileFrom(const fs::path& path, const fs::path& temp_dir, unsigned mode,
                       const std::function<Status(const ByteSink&)>& emit, bool durable) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  fs::path tmp = temp_dir / TempName("." + path.filename().string());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus("create '" + tmp.string() + "'", errno);
  Fd owner(fd);
  ::fchmod(fd, mode);  // the umask must not widen or narrow what the caller asked for
  std::string what = "'" + tmp.string() + "'";
  Status st = emit([&](std::string_view piece) { return WriteAll(fd, piece, what); });
  if (st.ok() && durable && ::fsync(fd) != 0)
    st = ErrnoStatus("fsync '" + tmp.string() + "'", errno);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = ErrnoStatus("rename to '" + path.string() + "'", errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return durable ? FsyncDir(dir) : Status::Ok();
}

}  // namespace

Status WriteFileAtomicFrom(const fs::path& path, const fs::path& temp_dir, unsigned mode,
                           const std::function<Status(const ByteSink&)>& emit) {
  return ReplaceFileFrom(path, temp_dir, mode, emit, true);
}

Status ReplaceCacheFileFrom(const fs::path& path, const fs::path& temp_dir, unsigned mode,
                            const std::function<Status(const ByteSink&)>& emit) {
  return ReplaceFileFrom(path, temp_dir, mode, emit, false);
}

Status MakeDirs(const fs::path& dir, unsigned mode) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return Status::Ok();
  if (dir.has_parent_path() && dir.parent_path() != dir)
    RETURN_IF_ERROR(MakeDirs(dir.parent_path(), mode));
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
    return ErrnoStatus("create directory '" + dir.string() + "'", errno);
  return Status::Ok();
}

}  // namespace converge

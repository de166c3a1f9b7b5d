#include "workspace/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/text.h"

namespace converge {

namespace {

// Who holds the lock, from what it wrote ("PID COMMAND"). Read without the
// lock, so it may be empty for an instant after another process took it.
struct Holder {
  std::string pid, command;  // empty when unknown

  static Holder Of(int fd) {
    char buf[256];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string text(buf, static_cast<size_t>(std::max<ssize_t>(n, 0)));
    while (!text.empty() && text.back() == '\n') text.pop_back();
    size_t space = text.find(' ');
    Holder h;
    h.pid = text.substr(0, space);
    if (h.pid.empty() || h.pid.find_first_not_of("0123456789") != std::string::npos) return {};
    if (space != std::string::npos) h.command = text.substr(space + 1);
    return h;
  }
  // "another converge process (pid 123)"
  std::string Who() const {
    return pid.empty() ? "another converge process" : "another converge process (pid " + pid + ")";
  }
  // " ('converge snap')", or "".
  std::string What() const { return command.empty() ? "" : " (" + Quote(command) + ")"; }
};

Status RecordHolder(int fd, const std::string& command, const fs::path& path) {
  std::string line = std::to_string(::getpid()) + " " + command + "\n";
  if (::ftruncate(fd, 0) != 0) return ErrnoStatus("write " + Quote(path.string()), errno);
  return WriteAll(fd, line, Quote(path.string()));
}

// Takes an flock on `path` (exclusive or shared) for `command`, waiting as
// `opts` says, and records the holder.
Result<Fd> TakeWorkspaceFlock(const fs::path& path, bool exclusive, const std::string& command,
                              const LockOptions& opts) {
  int raw = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return ErrnoStatus("cannot open the workspace lock " + Quote(path.string()), errno);
  Fd fd(raw);
  int mode = exclusive ? LOCK_EX : LOCK_SH;
  if (::flock(raw, mode | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      return ErrnoStatus("cannot lock the workspace (" + Quote(path.string()) + ")", errno);
    Holder holder = Holder::Of(raw);
    if (!opts.wait)
      return Conflict(holder.Who() + " is changing this workspace" + holder.What() +
                      ": wait for it to finish and run this again, or leave out --no-wait to " +
                      "queue behind it");
    if (opts.on_wait)
      opts.on_wait("waiting for " + holder.Who() + " in this workspace to finish" + holder.What() +
                   "...");
    while (::flock(raw, mode) != 0) {
      if (errno != EINTR)
        return ErrnoStatus("cannot lock the workspace (" + Quote(path.string()) + ")", errno);
    }
  }
  RETURN_IF_ERROR(RecordHolder(raw, command, path));
  return fd;
}

}  // namespace

Result<WorkspaceLock> WorkspaceLock::Acquire(const Workspace& ws, const std::string& command,
                                             const LockOptions& opts) {
  ASSIGN_OR_RETURN(Fd fd, TakeWorkspaceFlock(ws.meta() / "lock", true, command, opts));
  return WorkspaceLock(std::move(fd));
}

Result<GcLock> GcLock::Shared(const Workspace& ws, const std::string& command,
                              const LockOptions& opts) {
  ASSIGN_OR_RETURN(Fd fd, TakeWorkspaceFlock(ws.meta() / kFileName, false, command, opts));
  return GcLock(std::move(fd));
}

Result<GcLock> GcLock::Exclusive(const Workspace& ws, const std::string& command,
                                 const LockOptions& opts) {
  ASSIGN_OR_RETURN(Fd fd, TakeWorkspaceFlock(ws.meta() / kFileName, true, command, opts));
  return GcLock(std::move(fd));
}

}  // namespace converge

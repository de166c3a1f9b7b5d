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

}  // namespace

Result<WorkspaceLock> WorkspaceLock::Acquire(const Workspace& ws, const std::string& command,
                                             const LockOptions& opts) {
  fs::path path = ws.meta() / "lock";
  int raw = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return ErrnoStatus("cannot open the workspace lock " + Quote(path.string()), errno);
  Fd fd(raw);
  if (::flock(raw, LOCK_EX | LOCK_NB) != 0) {
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
    while (::flock(raw, LOCK_EX) != 0) {
      if (errno != EINTR)
        return ErrnoStatus("cannot lock the workspace (" + Quote(path.string()) + ")", errno);
    }
  }
  RETURN_IF_ERROR(RecordHolder(raw, command, path));
  return WorkspaceLock(std::move(fd));
}

// An flock on .converge itself: no file to make or rewrite, so a fetch that
// fails leaves the workspace's files exactly as they were. Only fetches hold
// it shared and only gc exclusively, so who is waited for goes without saying.
Result<GcLock> GcLock::Take(const Workspace& ws, bool exclusive, const LockOptions& opts) {
  fs::path dir = ws.meta();
  int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return ErrnoStatus("cannot open " + Quote(dir.string()) + " to lock it", errno);
  Fd fd(raw);
  int mode = exclusive ? LOCK_EX : LOCK_SH;
  if (::flock(raw, mode | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoStatus("cannot lock " + Quote(dir.string()), errno);
    std::string other = exclusive ? "a 'converge fetch' is downloading into this workspace"
                                  : "a 'converge gc' is running in this workspace";
    if (!opts.wait)
      return Conflict(other +
                      ": wait for it to finish and run this again, or leave out --no-wait to "
                      "queue behind it");
    if (opts.on_wait) opts.on_wait(other + ": waiting for it to finish...");
    while (::flock(raw, mode) != 0) {
      if (errno != EINTR) return ErrnoStatus("cannot lock " + Quote(dir.string()), errno);
    }
  }
  return GcLock(std::move(fd));
}

Result<GcLock> GcLock::Shared(const Workspace& ws, const LockOptions& opts) {
  return Take(ws, false, opts);
}

Result<GcLock> GcLock::Exclusive(const Workspace& ws, const LockOptions& opts) {
  return Take(ws, true, opts);
}

}  // namespace converge

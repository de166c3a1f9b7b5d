#include "server/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace converge {

fs::path MetadataMovedFile(const fs::path& dir) {
  return dir / "metadata-moved";
}

Status RefuseMovedMetadata(const fs::path& dir, bool postgres) {
  if (postgres) return Status::Ok();
  fs::path moved = MetadataMovedFile(dir);
  std::error_code ec;
  if (!fs::exists(moved, ec) && !ec) return Status::Ok();
  return Conflict("the metadata of data dir '" + dir.string() +
                  "' was moved to PostgreSQL by 'converge serve --import-sqlite' (see '" +
                  moved.string() + "'): pass the --db its nodes use (or set CONVERGE_DB); its " +
                  "converge.db is the copy from before the move");
}

Result<DataDir> DataDir::Open(const fs::path& dir, Use use) {
  bool shared = use == Use::kShared;
  std::error_code ec;
  fs::path path = fs::absolute(dir, ec);
  if (ec) return IoError("data dir '" + dir.string() + "': " + ec.message());
  RETURN_IF_ERROR(MakeDirs(path, 0700));
  // Identity and tokens live here: nobody else may look in.
  if (::chmod(path.c_str(), 0700) != 0) return ErrnoStatus("chmod '" + path.string() + "'", errno);
  fs::path lock_path = path / "lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open '" + lock_path.string() + "'", errno);
  Fd lock(fd);
  if (::flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoStatus("lock '" + lock_path.string() + "'", errno);
    if (shared)
      return Conflict("data dir '" + path.string() +
                      "' is held by a converge serve on SQLite (or a repair): stop it first; "
                      "nodes share a data dir only when all run with the same --db");
    // Held shared: by nodes on PostgreSQL, which a lone holder must not
    // join (the probe holds it shared an instant, as a node does).
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
      ::flock(fd, LOCK_UN);
      return Conflict("another converge serve is using data dir '" + path.string() +
                      "': nodes on PostgreSQL (--db) are running on it; stop every one of them "
                      "first, or pass a different --data-dir");
    }
    return Conflict("another converge serve is using data dir '" + path.string() +
                    "': stop it first, or pass a different --data-dir");
  }
  // The pid of a node alone; shared nodes would overwrite each other's.
  std::string pid = shared ? std::string() : std::to_string(::getpid()) + "\n";
  if (!shared && ::ftruncate(fd, 0) == 0) (void)WriteAll(fd, pid, lock_path.string());
  ASSIGN_OR_RETURN(ObjectStore store, ObjectStore::Open(path));
  // Alone, every temp is a crash's leftover; shared, a young one may be
  // another node's upload in flight.
  store.CleanStaleTemps(shared ? kSharedTempAge : -1);
  return DataDir(path, std::move(lock), std::move(store), shared);
}

}  // namespace converge

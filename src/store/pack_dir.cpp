#include "store/pack_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace converge {

Result<Fd> TakeRepackLock(const fs::path& root) {
  fs::path path = root / "repack.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open '" + path.string() + "'", errno);
  Fd owner(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Conflict("another repack or gc of " + root.string() +
                      " is running; try again when it ends");
    return ErrnoStatus("lock '" + path.string() + "'", errno);
  }
  return owner;
}

uint64_t FileBytes(const fs::path& p) {
  std::error_code ec;
  uint64_t n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

std::optional<int64_t> ModifiedAt(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return std::nullopt;
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

std::vector<LooseFile> ListLooseFiles(const ObjectStore& store) {
  std::vector<LooseFile> out;
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(store.root() / "objects", ec)) {
    std::error_code sec;
    for (const auto& f : fs::directory_iterator(shard.path(), sec)) {
      std::optional<ObjectId> id = ObjectId::FromHex(f.path().filename().string());
      if (!id || store.PathOf(*id) != f.path()) continue;
      struct stat st;
      if (::lstat(f.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      out.push_back({*id, static_cast<uint64_t>(st.st_size),
                     int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec});
    }
  }
  return out;
}

std::optional<std::set<std::string>> NamedPacks(const fs::path& dir) {
  std::set<std::string> named;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    std::string name = f.path().filename().string();
    if (!IsPackFileName(name, ".idx")) continue;
    // Removed meanwhile (folded into an index this listing may have
    // missed) or unreadable: no pack may be taken for unnamed.
    Result<std::shared_ptr<const PackIndex>> idx = PackIndex::Load(dir, name);
    if (!idx.ok()) return std::nullopt;
    named.insert((*idx)->packs().begin(), (*idx)->packs().end());
  }
  if (ec) return std::nullopt;
  return named;
}

}  // namespace converge

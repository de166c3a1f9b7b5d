#include "support/tree_helpers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "support/process.h"

namespace converge::testing {

namespace {

int64_t MtimeNs(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

void Describe(const fs::path& root, const fs::path& dir, std::map<std::string, std::string>& out) {
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string rel = fs::relative(e.path(), root).generic_string();
    if (e.is_symlink()) {
      out[rel] = "link -> " + fs::read_symlink(e.path()).string();
    } else if (e.is_directory()) {
      if (e.path().filename() == ".converge") continue;
      out[rel] = "dir";
      Describe(root, e.path(), out);
    } else if (e.is_regular_file()) {
      struct stat st;
      if (::lstat(e.path().c_str(), &st) != 0) throw std::runtime_error("lstat " + rel);
      out[rel] =
          std::string("file x=") + ((st.st_mode & S_IXUSR) ? "1 " : "0 ") + ReadFileOrDie(e.path());
    } else {
      out[rel] = "special";
    }
  }
}

}  // namespace

std::map<std::string, std::string> DescribeTree(const fs::path& root) {
  std::map<std::string, std::string> out;
  Describe(root, root, out);
  return out;
}

void FlipByte(const fs::path& file, size_t offset) {
  ::chmod(file.c_str(), 0644);
  int fd = ::open(file.c_str(), O_RDWR);
  if (fd < 0) throw std::runtime_error("open " + file.string());
  unsigned char c = 0;
  if (::pread(fd, &c, 1, static_cast<off_t>(offset)) != 1) throw std::runtime_error("pread");
  c ^= 0x01;
  if (::pwrite(fd, &c, 1, static_cast<off_t>(offset)) != 1) throw std::runtime_error("pwrite");
  ::close(fd);
}

void WaitForFsClockPast(const fs::path& dir) {
  WaitForFsClockPast(dir, dir);
}

void WaitForFsClockPast(const fs::path& dir, const fs::path& probe_dir) {
  int64_t newest = 0;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0) {
      newest = std::max(newest, MtimeNs(st));
      newest = std::max(newest, int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec);
    }
  }
  fs::path probe = probe_dir / ".fs-clock-probe";
  for (;;) {
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct stat st;
    ::fstat(fd, &st);
    ::close(fd);
    ::unlink(probe.c_str());
    if (MtimeNs(st) > newest) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string PseudoRandomBytes(size_t n, uint32_t seed) {
  // Eight bytes a step: tests make hundreds of megabytes of this, and a
  // byte a step was a few per cent of the e2e suite's CPU.
  std::string out(n, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull ^ seed;
  for (size_t i = 0; i < n; i += sizeof x) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(out.data() + i, &x, std::min(sizeof x, n - i));
  }
  return out;
}

}  // namespace converge::testing

#include "workspace/dir_cursor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/text.h"

namespace converge {

namespace {

// A path deeper than this shows its first and last levels only: it is for
// messages, and a hostile tree can be thousands of levels deep.
constexpr size_t kLevelsShown = 32;

Status NotADirectory(const std::string& path) {
  return Conflict(Quote(path) + " is not a directory (a symlink or file is there), " +
                  "so converge will not go into it");
}

}  // namespace

Result<DirCursor> DirCursor::At(std::shared_ptr<Fd> top, std::string display) {
  DirCursor c;
  c.display_ = std::move(display);
  c.levels_.push_back({});
  c.cur_ = std::move(top);
  return c;
}

Status DirCursor::Push(Fd fd, const std::string& name) {
  Level& parent = levels_.back();
  if (levels_.size() <= kHeldLevels) {
    parent.held = cur_;
  } else {
    struct stat st;
    if (::fstat(cur_->get(), &st) != 0) return ErrnoStatus("cannot stat " + Quote(Path()), errno);
    parent.dev = st.st_dev;
    parent.ino = st.st_ino;
    parent.fd = cur_;
  }
  levels_.push_back({name, {}, {}, 0, 0});
  cur_ = std::make_shared<Fd>(std::move(fd));
  return Status::Ok();
}

Status DirCursor::Enter(const std::string& name) {
  int sub = ::openat(fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0) {
    int err = errno;
    if (err == ELOOP || err == ENOTDIR) return NotADirectory(PathOf(name));
    return ErrnoStatus("cannot open directory " + Quote(PathOf(name)), err);
  }
  return Push(Fd(sub), name);
}

Status DirCursor::MakeAndEnter(const std::string& name) {
  if (::mkdirat(fd(), name.c_str(), 0777) != 0)
    return ErrnoStatus("cannot create directory " + Quote(PathOf(name)), errno);
  return Enter(name);
}

Status DirCursor::Leave() {
  if (levels_.size() < 2) return Internal("DirCursor::Leave at the top");
  Level& parent = levels_[levels_.size() - 2];
  std::shared_ptr<Fd> up = parent.held ? std::move(parent.held) : parent.fd.lock();
  if (!up) {
    std::string where = Path();
    int raw = ::openat(fd(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (raw < 0) return ErrnoStatus("cannot go back up from " + Quote(where), errno);
    up = std::make_shared<Fd>(raw);
    struct stat st;
    if (::fstat(raw, &st) != 0) return ErrnoStatus("cannot go back up from " + Quote(where), errno);
    if (st.st_dev != parent.dev || st.st_ino != parent.ino)
      return Conflict(Quote(where) + " was moved while converge was working in it: " +
                      "converge stopped there; run the command again once nothing else moves it");
  }
  parent.held.reset();
  parent.fd.reset();
  levels_.pop_back();
  cur_ = std::move(up);
  return Status::Ok();
}

std::string DirCursor::Path() const {
  std::string out = display_;
  auto add = [&](const std::string& name) { out += (out.empty() ? "" : "/") + name; };
  size_t n = levels_.size();
  for (size_t i = 1; i < n; i++) {
    if (n > 2 * kLevelsShown + 1 && i == kLevelsShown + 1) {
      add("...(" + std::to_string(n - 1 - 2 * kLevelsShown) + " levels)...");
      i = n - kLevelsShown - 1;
      continue;
    }
    add(levels_[i].name);
  }
  return out;
}

std::string DirCursor::PathOf(const std::string& child) const {
  std::string dir = Path();
  return dir.empty() ? child : dir + "/" + child;
}

}  // namespace converge

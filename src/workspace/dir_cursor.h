// Walking down into a directory tree and back up while holding one directory
// open, not one per level: a walk of a tree of any depth needs a bounded
// number of descriptors and no recursion.
//
// Down is openat(name, O_NOFOLLOW): a symlink is never followed. The first
// kHeldLevels levels stay open (real trees are that shallow: going back up
// costs nothing); below them, back up reuses the parent's descriptor when
// someone still holds it (queued file writes do), and is otherwise
// openat(".."), checked to be the very directory (device and inode) the walk
// came down from: if anyone moved a directory meanwhile, Leave fails with
// kConflict instead of carrying on somewhere else.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/fs.h"

namespace converge {

class DirCursor {
 public:
  // Starts at the open directory `top`, shown in messages as `display` ("" for
  // a target's root: paths below it then read "a/b").
  static Result<DirCursor> At(std::shared_ptr<Fd> top, std::string display);

  // The directory the cursor is at, shared so that queued work may keep it.
  const std::shared_ptr<Fd>& dir() const { return cur_; }
  int fd() const { return cur_->get(); }
  // How many levels below the top it is.
  size_t depth() const { return levels_.size() - 1; }

  // Moves into subdirectory `name`; kConflict when it is a symlink or file.
  Status Enter(const std::string& name);
  // Makes subdirectory `name` (0777 & ~umask) and moves into it.
  Status MakeAndEnter(const std::string& name);
  // Moves back up one level (never above the top).
  Status Leave();
  // The name the current directory has in its parent ("" at the top).
  const std::string& name() const { return levels_.back().name; }

  // The display path of the current directory, or of `child` in it.
  std::string Path() const;
  std::string PathOf(const std::string& child) const;

 private:
  static constexpr size_t kHeldLevels = 32;
  struct Level {
    std::string name;
    // While the cursor is below it: its descriptor, kept (the first
    // kHeldLevels levels), or else found again while anyone keeps it open,
    // or else through "..", checked against its device and inode.
    std::shared_ptr<Fd> held;
    std::weak_ptr<Fd> fd;
    dev_t dev = 0;
    ino_t ino = 0;
  };
  DirCursor() = default;
  Status Push(Fd fd, const std::string& name);

  std::string display_;
  std::vector<Level> levels_;  // [0]: the top
  std::shared_ptr<Fd> cur_;
};

}  // namespace converge

// TreeSync's staged new directories (workspace/tree_sync.h): the build step
// and Finish, which places them whole or removes them.
#include "workspace/tree_sync.h"

#include <cerrno>
#include <cstdio>  // renameat2

#include "base/text.h"

namespace converge {

Status TreeSync::BuildNew(const std::shared_ptr<Fd>& dir, const std::string& rel,
                          const ObjectId& want, const std::optional<ObjectId>& have) {
  building_ = true;
  Status st = Sync(dir, rel, want, have);
  building_ = false;
  return st;
}

bool TreeSync::IsStaged(const std::string& name) const {
  for (const Staged& s : staged_)
    if (s.temp == name) return true;
  return false;
}

Status TreeSync::Finish(Status st) {
  size_t placed = 0;
  for (; st.ok() && placed < staged_.size(); placed++) {
    const Staged& s = staged_[placed];
    // Never onto something that appeared meanwhile (rename(2) would replace
    // an empty directory).
    if (::renameat2(s.parent->get(), s.temp.c_str(), s.parent->get(), s.name.c_str(),
                    RENAME_NOREPLACE) == 0)
      continue;
    int err = errno;
    st = err == EEXIST ? Conflict(Quote(s.path) + " appeared while the snap was being restored")
                       : ErrnoStatus("cannot move the restored directory " + Quote(s.path) +
                                         " into place",
                                     err);
    break;
  }
  for (size_t i = placed; i < staged_.size(); i++) {
    uint64_t removed = 0;
    (void)RemoveAllAt(staged_[i].parent->get(), staged_[i].temp, staged_[i].path,
                      &removed);  // the failure that got here is the one to report
  }
  staged_.clear();
  return st;
}

}  // namespace converge

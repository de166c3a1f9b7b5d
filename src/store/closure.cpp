#include "store/closure.h"

#include <unordered_set>

namespace converge {

std::vector<ObjectRef> LeavesFirst(
    const std::vector<ObjectRef>& roots,
    const std::function<std::vector<ObjectRef>(const ObjectRef&)>& children) {
  std::vector<ObjectRef> out;
  std::unordered_set<ObjectId> seen;
  struct Frame {
    ObjectRef ref;
    std::vector<ObjectRef> kids;
    size_t next = 0;
  };
  std::vector<Frame> stack;
  for (const ObjectRef& root : roots) {
    if (!seen.insert(root.id).second) continue;
    stack.push_back({root, children(root)});
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next < top.kids.size()) {
        ObjectRef kid = top.kids[top.next++];
        if (seen.insert(kid.id).second) stack.push_back({kid, children(kid)});
        continue;
      }
      out.push_back(top.ref);
      stack.pop_back();
    }
  }
  return out;
}

}  // namespace converge

// Ordering a set of objects leaves first: every object after everything it
// references, so uploading or storing them in that order never shows an
// object whose references are missing. Works on any DAG (a subtree shared at
// two depths included), iteratively, so deep trees cannot exhaust the stack.
#pragma once

#include <functional>
#include <vector>

#include "store/objects.h"

namespace converge {

// `roots`: where to start. `children(ref)`: the references of `ref` that are
// in the set (references outside it are already stored and are skipped).
std::vector<ObjectRef> LeavesFirst(
    const std::vector<ObjectRef>& roots,
    const std::function<std::vector<ObjectRef>(const ObjectRef&)>& children);

}  // namespace converge

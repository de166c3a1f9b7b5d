// `converge diff`: which paths changed between two snaps, or between a snap
// and the working tree as it is now (captured without storing anything).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/tree.h"
#include "workspace/workspace.h"

namespace converge {

// The changes from `from` to `to`, sorted by path. Each is a snap argument
// (a full ID, a unique prefix, or a fetched publication's: ResolveSnapArg);
// no `from` means the head, no `to` the working tree. Errors: kNotFound when
// `from` is omitted and the workspace has no snaps yet, or when a snap does
// not resolve; kConflict for an ambiguous prefix; kCorrupt or kIo when an
// object cannot be read; capture's errors for the working tree.
Result<std::vector<Change>> DiffWorkspace(Workspace& ws, const std::optional<std::string>& from,
                                          const std::optional<std::string>& to);

}  // namespace converge

// The naming rules of docs/api.md, checked in one place. Each fails with
// kInvalid and a message that quotes the name and states the rule.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/status.h"

namespace converge {

// User handles: ^[a-z0-9][a-z0-9-]{0,38}$
Status ValidateHandle(std::string_view handle);
// Scope, lane and gate names (`what` says which): 1-100 characters of
// a-z A-Z 0-9 . _ - /, not starting with '.', '/' or '-', no "//", no ".."
// component, not ending in '/'.
Status ValidateRefName(std::string_view name, const char* what);
// Repo names: a ref name without '/'.
Status ValidateRepoName(std::string_view name);
// Free text sent by a client (labels, notes, host names): at most `max_bytes`,
// and no control characters unless `multiline` (which allows \n and \t).
Status ValidateText(std::string_view text, const char* what, size_t max_bytes,
                    bool multiline = false);

}  // namespace converge

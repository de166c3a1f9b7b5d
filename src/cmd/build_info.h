// What this binary was built from, for `converge --version` and bug reports.
// Defined in a file the build makes (scripts/build_info.cmake), not here.
#pragma once

#include <string>

namespace converge {

// The git commit of the checkout it was built from, abbreviated to 12 hex
// digits, with "-dirty" when tracked files differed from it; "unknown" when
// built outside a git checkout.
const char* BuildCommit();

// What `converge --version` prints: "converge 0.1.0 (commit 0123456789ab)".
inline std::string VersionLine() {
  return std::string("converge ") + CONVERGE_VERSION + " (commit " + BuildCommit() + ")";
}

}  // namespace converge

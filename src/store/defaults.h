// The names a new repo starts with, and that publish falls back on when
// neither the command line nor the workspace's remote names one. The server
// (repos.cpp), the workspace's config (workspace.cpp) and the client all use
// these; changing one changes what a new repo holds and what an old
// workspace config without the field means.
#pragma once

namespace converge {

inline constexpr const char* kDefaultScope = "main";       // a new repo's first scope
inline constexpr const char* kDefaultGate = "dev-intake";  // its gate graph's only gate
inline constexpr const char* kDefaultLane = "default";     // its first lane (with its admin)

}  // namespace converge

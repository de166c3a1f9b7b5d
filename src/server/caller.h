// Who is asking: the authenticated identity every authority call takes, and
// the repo roles that decide what it may do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace converge {

struct Caller {
  int64_t user_id = 0;
  std::string handle;
  bool admin = false;  // server admin: may do anything
  std::string token_id;
  std::string remote_addr;
};

// Repo roles, ordered: each includes the ones before it.
enum class Role { kNone = 0, kRead, kPublish, kAdmin };

const char* RoleName(Role role);  // "none", "read", "publish", "admin"
std::optional<Role> RoleFromName(std::string_view name);

}  // namespace converge

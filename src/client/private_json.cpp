#include "client/private_json.h"

#include <sys/stat.h>

#include <cstdlib>

#include "base/json.h"

namespace converge {

fs::path ClientConfigDir() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg && *xdg) return fs::path(xdg) / "converge";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/") / ".config" / "converge";
}

Result<std::optional<nlohmann::json>> ReadPrivateJson(const fs::path& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return std::optional<nlohmann::json>();
    return text.status();
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077)) ::chmod(path.c_str(), 0600);
  Result<nlohmann::json> j = ParseJson(*text);
  if (!j.ok() || !j->is_object()) return Corrupt("not a JSON object");
  return std::optional<nlohmann::json>(std::move(*j));
}

Status WritePrivateJson(const fs::path& path, const nlohmann::json& j) {
  RETURN_IF_ERROR(MakeDirs(path.parent_path(), 0700));
  return WriteFileAtomic(path, j.dump(2) + "\n", 0600);
}

}  // namespace converge

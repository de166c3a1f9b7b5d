// The client's private JSON files under $XDG_CONFIG_HOME/converge/ (the
// logins in credentials.json, the pinned audit keys in audit-keys.json):
// read leniently, written atomically, readable by their owner only.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "base/fs.h"
#include "base/status.h"

namespace converge {

// $XDG_CONFIG_HOME/converge, else $HOME/.config/converge.
fs::path ClientConfigDir();

// The JSON object in `path`; nullopt when there is no file yet. A file
// others may read is tightened to 0600 on the way. Errors: kCorrupt when it
// is not a JSON object (the caller says what to do), the file's read error.
Result<std::optional<nlohmann::json>> ReadPrivateJson(const fs::path& path);

// Writes `j` to `path` atomically (temp file, fsync, rename), mode 0600, in
// a directory made 0700 when missing. Errors: the file system's.
Status WritePrivateJson(const fs::path& path, const nlohmann::json& j);

}  // namespace converge

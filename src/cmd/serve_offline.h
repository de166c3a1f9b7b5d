// What `converge serve` does without serving, then exits: --fsck [--repair]
// and --import-sqlite. The work is server/fsck.h's, fsck_repair.h's and
// import.h's; these print it.
#pragma once

#include <string>

#include "base/status.h"
#include "server/config.h"

namespace converge {

Status FsckDataDir(const ServerConfig& c, bool repair, bool json);
Status ImportCommand(const std::string& old_dir, const ServerConfig& c, bool json);

}  // namespace converge

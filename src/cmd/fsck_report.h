// The printing of an fsck report (store/fsck.h's FsckReport), shared by
// `converge fsck` and `converge serve --fsck`.
#pragma once

#include <string>

#include "base/status.h"
#include "store/fsck.h"

namespace converge {

// Prints `r` (one JSON document under `json`, else one line a problem and a
// summary). OK when it found no damage; kCorrupt naming `what` and ending
// with `hint` (what to do next) when it did, so the command exits 1.
Status PrintFsckReport(const FsckReport& r, bool json, const std::string& what,
                       const std::string& hint);

}  // namespace converge

// `converge repack --data-dir DIR`: store/repack.h on a server's data dir.
// Safe beside a running server (it only moves objects between files, and
// the server re-reads packs/ when a lookup misses); no database is opened.
#pragma once

#include "base/fs.h"
#include "store/repack.h"

namespace converge {

// Fails with kNotFound when `dir` is not a data dir, else as Repack.
Result<RepackStats> RepackDataDir(const fs::path& dir, const RepackOptions& options);

}  // namespace converge

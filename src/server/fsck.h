// `converge serve --fsck`: checks a server's data dir, whether or not a
// server is running on it. It only reads: the database through a read-only
// connection, in one transaction (WAL gives it a consistent snapshot beside
// a running writer), the object files directly.
//
// Besides the store checks of store/fsck.h (every object file re-hashed), it
// checks that every `objects` row has its file with the recorded size; that
// every object a repo holds decodes as its kind and names only objects the
// same repo holds, with matching sizes (so a held snap's whole tree is
// there); that every publication's snap is held by its repo and its ID
// matches its content; and that the audit log's hash chain is unbroken,
// naming the first row where it breaks.
#pragma once

#include "base/fs.h"
#include "store/fsck.h"

namespace converge {

Result<FsckReport> CheckDataDir(const fs::path& dir);

}  // namespace converge

// `converge serve --fsck --repair`: acts on what CheckDataDir
// (server/fsck.h) finds.
//
// RepairDataDir needs the server stopped: it takes the data dir's lock
// alone, and on PostgreSQL the database's node lock alone too
// (server/node_lock.h), so it is refused while any node of the authority
// runs, on any host, and no node starts while it runs. It moves damaged
// object files to DATA/damaged/ and, in each repo, drops the records of
// every object that cannot be served whole
// (its file damaged or missing, or it names an object the repo lacks) and of
// everything that names one of those, up to the snaps: the repo then again
// holds only whole trees, and a client's next publish of those snaps uploads
// what went missing. Publications are never changed; one whose snap went is
// reported until it is uploaded again. Each repo's drops and the quarantine
// are audited ("object.repair"). It then checks the data dir again.
#pragma once

#include "base/fs.h"
#include "server/fsck.h"

namespace converge {

// Repairs what CheckDataDir finds (see server/fsck.h); the report is the check after
// the repair, with what it did in `fixed`. Audits each repo's drops and the
// quarantine as "object.repair" by "server". Fails with CheckDataDir's
// errors, kConflict while a server holds the data dir's lock or (PostgreSQL)
// a node the node lock, saying what to do, an audit key
// that cannot be loaded (its error, with context), or kIo.
Result<FsckReport> RepairDataDir(const fs::path& dir, const std::string& db = "");

}  // namespace converge

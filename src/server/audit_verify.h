// The server's side of verifying the audit log (the checks themselves are
// api/audit_chain.h's AuditChainVerifier, shared with `converge audit
// --verify`): the data dir's own key, and the log in a server database fed
// to the verifier newest first, so memory stays flat however long it is.
#pragma once

#include <optional>

#include "base/fs.h"
#include "api/wire.h"
#include "api/audit_chain.h"
#include "server/audit_key.h"
#include "store/db.h"

namespace converge {

// The data dir's own public key: DATA/audit-key.pub, else the key pair's.
// Errors: kNotFound (or the file's error) when the data dir has neither,
// saying so.
Result<AuditPublicKey> DataDirAuditKey(const fs::path& dir);

// The checks above on the log in `db` (a server database), against `key`:
// the signed head, then every row it covers. Run it inside a read
// transaction of the caller's, so the head and its rows are one snapshot. A
// log with rows but no head is one problem; an empty one none. Errors: the
// database's; a database without the audit_head table says to start a
// converge serve on it once. Problems are in the verdict, not the status.
// The one audit-chain checker of the server: `serve --verify-audit` and
// `serve --fsck` (server/fsck.h) both use it.
Result<AuditVerdict> VerifyAuditLog(Db& db, const AuditPublicKey& key);

// `converge serve --verify-audit`: VerifyAuditLog on a data dir, through a
// read-only connection (safe beside a running server), against the data
// dir's own public key, or `key` when the operator gives one. Errors: those
// of DataDirAuditKey and VerifyAuditLog; kNotFound when the data dir has no
// converge.db. `db` as for CheckDataDir (server/fsck.h).
Result<AuditVerdict> VerifyAuditDataDir(const fs::path& dir, const std::string& db,
                                        const std::optional<AuditPublicKey>& key);

}  // namespace converge

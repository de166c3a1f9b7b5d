// converge audit --verify (cmd/audit_verify.cpp): checks the server's whole
// audit chain and its signed head against the pinned (or given) key.
#pragma once

#include <string>

#include "base/fs.h"
#include "net/api_client.h"

namespace converge {

// `key`: empty, 64 hex characters, or a file holding them.
Status VerifyAuditLog(ApiClient& api, const std::string& key, bool json);
// converge serve --verify-audit: the same checks on a data dir, offline.
Status VerifyAuditDataDirCommand(const fs::path& data_dir, const std::string& db,
                                 const std::string& key, bool json);

}  // namespace converge

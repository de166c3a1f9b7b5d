// Reading the server's audit log (GET /v1/audit), page by page: the newest
// entries for `converge audit`, and every row from the signed head down for
// `converge audit --verify` (client/audit_trust.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "net/api_client.h"

namespace converge {

// The API's largest ?limit= for the audit log.
constexpr int kMaxAuditPage = 1000;

// Up to `limit` entries that pass `filter`, newest first, following the
// API's `next` cursor; `next` of the result is set when older ones exist.
// `repo` empty: the whole server's log (server admins), else that repo's
// (its admins). Errors: the API's (kPermission, kNotFound for a repo the
// caller may not read, kUnauthenticated, kInvalid naming a bad filter), or
// the pager's when the server's cursors loop.
Result<wire::AuditPage> ReadAuditLog(ApiClient& api, const std::string& repo, int limit,
                                     const AuditLogFilter& filter = {});

// Calls `fn` on every row with seq <= head_seq of the whole server's log,
// newest first, in pages of `page_size` (1 to kMaxAuditPage): rows appended
// meanwhile are not read. The rows are handed over and dropped, so memory
// stays flat. Errors: the API's, explained for "verify the whole audit log"
// (server admins only), or the pager's when the server sends more pages or
// rows than head_seq allows.
Status ReadAuditLogDown(ApiClient& api, int64_t head_seq, int page_size,
                        const std::function<void(const wire::AuditEntry&)>& fn);

}  // namespace converge

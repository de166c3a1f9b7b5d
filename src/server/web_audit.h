// The web view's audit pages: the whole log for server admins (/audit), a
// repo's rows for its admins (/r/REPO/audit), read through AuditLog's
// ListAll / ListRepo with the session's Caller (so exactly the API's
// permissions: a repo the caller may not read is kNotFound), newest first,
// 100 a page. With `verify`, a server admin's page also runs the one chain
// checker (AuditChainVerifier) over every row up to the signed head, against
// the data dir's key, and says whether the chain and the head verify.
#pragma once

#include <optional>
#include <string>

#include "server/authority.h"

namespace converge {

// The filters of an audit page: `repo` (nullopt: the whole log), `before` a
// previous page's cursor, `verify` whether to check the chain.
struct WebAuditQuery {
  std::optional<std::string> repo;
  std::optional<int64_t> before;
  bool verify = false;
};

// The page's body. Errors: those of ListAll / ListRepo / Head.
Result<std::string> AuditPageBody(Authority& a, const Caller& caller, const WebAuditQuery& q);

}  // namespace converge

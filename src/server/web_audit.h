// The web view's audit pages: the whole log for server admins (/audit), a
// repo's rows for its admins (/r/REPO/audit), read through AuditLog's
// ListAll / ListRepo with the session's Caller and the page's filters (so
// exactly the API's permissions and filters, GET /v1/audit and
// /v1/repos/REPO/audit: a repo the caller may not read is kNotFound),
// newest first, 100 a page. The filters are a form on the page and ride
// along in the paging links. Verifying the chain reads the whole log, so it
// runs only when asked (`verify`, a link on a server admin's page), through
// AuditLog::Verify: never on an ordinary page view.
#pragma once

#include <optional>
#include <string>

#include "server/authority.h"

namespace converge {

// What an audit page was asked for: `repo` the repo of a /r/REPO/audit page
// (nullopt: the whole log), its filters (on the whole log `filter.repo`
// narrows to one repo), `before` a previous page's cursor, `verify` whether
// to check the chain.
struct WebAuditQuery {
  std::optional<std::string> repo;
  AuditFilter filter;
  std::optional<int64_t> before;
  bool verify = false;
};

// The page's body. Errors: those of ListAll / ListRepo / Verify.
Result<std::string> AuditPageBody(Authority& a, const Caller& caller, const WebAuditQuery& q);

}  // namespace converge

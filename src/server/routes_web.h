// The web view's routes (docs/server.md, "The web view"), registered by
// server/http_routes.cpp unless the config turns the view off (--no-web):
//   GET  /style.css                      the stylesheet; anyone
//   GET  /signin, POST /signin           the sign-in form (CSRF: a cookie and
//                                        a field that must match); anyone
//   POST /signout                        ends the session (CSRF: a value
//                                        derived from the session); signed in
//   GET  /                               repos the user may read
//   GET  /r/REPO                         a repo (?scope= &lane= &gate= &before=)
//   GET  /r/REPO/p/ID[/PATH]             a publication, a directory or a file
//   GET  /r/REPO/raw/ID/PATH             a file's bytes, as a download
//   GET  /audit[?verify=1]               the audit log; server admins
//   GET  /r/REPO/audit                   a repo's audit rows; its admins
// Pages need a session (else 303 to /signin) and call the same services
// the API routes call with its Caller: a repo the user may not read is the
// same 404 page as a missing one.
#pragma once

#include <httplib.h>

#include "server/authority.h"

namespace converge {

void RegisterWebRoutes(httplib::Server& svr, Authority& a);

}  // namespace converge

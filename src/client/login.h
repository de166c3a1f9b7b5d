// `converge login` and `logout`: the stored token for a server
// (client/credentials.h).
#pragma once

#include <string>

#include "client/session.h"

namespace converge {

// Checks `token` with the server at `url` (canonical: CanonicalServerUrl) by
// asking whom it belongs to, and only then stores it for that server, so a
// mistyped or revoked token is never kept. Returns the answer. Errors:
// kUnauthenticated when the server refuses the token (nothing is stored),
// the API's or the transport's, kCorrupt for a damaged credentials file,
// writing the file.
Result<wire::Whoami> LogIn(const std::string& url, const std::string& token,
                           const ServerFlags& flags);

// Forgets the stored token for `url`; false when there was none. Errors:
// reading or writing the credentials file.
Result<bool> LogOut(const std::string& url);

}  // namespace converge

// Finding the server and the credentials a command talks with. The server is
// its --url, else the workspace's remote, else CONVERGE_URL, else the most
// recent login. A token is only ever sent to the server it is for: the stored
// login for that server (keyed by its canonical URL), or CONVERGE_TOKEN when
// CONVERGE_URL names that same server. CONVERGE_TOKEN without CONVERGE_URL is
// an error. So a workspace whose remote names another server (a config
// planted by a restored tree, say) cannot make the client send it a token
// meant for a different one; URLs are compared in canonical form
// (CanonicalServerUrl).
#pragma once

#include <optional>
#include <string>

#include "net/api_client.h"
#include "workspace/workspace.h"

namespace converge {

// The flags every command that talks to a server takes.
struct ServerFlags {
  std::string url;
  std::string ca_file;  // also CONVERGE_CA_FILE
};

// The server URL a command uses (no token needed), in canonical form.
Result<std::string> ResolveServerUrl(const ServerFlags& flags, const Workspace* ws);

// The token for server `url` (canonical), by the rule above.
Result<std::string> TokenFor(const std::string& url);

// A client for that server, authenticated. `ws` may be null (outside a workspace).
Result<ApiClient> ConnectAuthenticated(const ServerFlags& flags, const Workspace* ws,
                                       int connect_timeout_s = 10);
// A client with an explicit token (login checks a token before storing it).
Result<ApiClient> ConnectWithToken(const std::string& url, const std::string& token,
                                   const ServerFlags& flags, int connect_timeout_s = 10);

// The repo a repo-scoped command works on: `flag`, else the workspace remote's.
Result<std::string> ResolveRepo(const std::string& flag, const Workspace* ws);

// The workspace around the current directory, if there is one.
std::optional<Workspace> FindWorkspaceIfAny();

// A failed call made specific: a 404 for repo `repo`
// itself reads "repository 'x' not found (or you have no access to it)"; a
// 403 names what was refused ("cannot create lane 'qa': <server's reason>");
// a 401 says to log in again. `what` and `repo` may be empty.
Status ExplainFailure(const Status& st, const std::string& what, const std::string& repo);

}  // namespace converge

#include "client/session.h"

#include <cstdlib>

#include "base/text.h"
#include "client/credentials.h"

namespace converge {

namespace {

std::string CaFile(const ServerFlags& flags) {
  if (!flags.ca_file.empty()) return flags.ca_file;
  const char* env = std::getenv("CONVERGE_CA_FILE");
  return env ? env : "";
}

std::string EnvVar(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// CONVERGE_URL in canonical form ("" when unset).
Result<std::string> EnvServerUrl() {
  std::string env = EnvVar("CONVERGE_URL");
  if (env.empty()) return env;
  Result<std::string> url = CanonicalServerUrl(env);
  if (!url.ok()) return url.status().With("CONVERGE_URL");
  return url;
}

}  // namespace

Result<std::string> ResolveServerUrl(const ServerFlags& flags, const Workspace* ws) {
  if (!flags.url.empty()) return CanonicalServerUrl(flags.url);
  if (ws && ws->config().remote && !ws->config().remote->url.empty()) {
    Result<std::string> url = CanonicalServerUrl(ws->config().remote->url);
    if (!url.ok())
      return url.status().With("the workspace's remote (fix it with 'converge remote set')");
    return url;
  }
  ASSIGN_OR_RETURN(std::string env_url, EnvServerUrl());
  if (!env_url.empty()) return env_url;
  ASSIGN_OR_RETURN(Credentials creds, Credentials::Load());
  if (!creds.last_url().empty()) return creds.last_url();
  return Invalid("no server given: pass --url URL, set the workspace's remote with " +
                 std::string("'converge remote set --url URL --repo REPO', or log in with ") +
                 "'converge login --url URL'");
}

Result<std::string> TokenFor(const std::string& url) {
  std::string env_token = EnvVar("CONVERGE_TOKEN");
  std::string note = " (or set CONVERGE_URL and CONVERGE_TOKEN)";
  if (!env_token.empty()) {
    ASSIGN_OR_RETURN(std::string env_url, EnvServerUrl());
    if (env_url.empty())
      return Invalid("CONVERGE_TOKEN is set but CONVERGE_URL is not: set CONVERGE_URL to the " +
                     std::string("server the token is for (converge sends CONVERGE_TOKEN to ") +
                     "that server only), or unset CONVERGE_TOKEN");
    if (env_url == url) return env_token;
    note = " (CONVERGE_TOKEN is only ever sent to CONVERGE_URL, " + env_url + ")";
  }
  ASSIGN_OR_RETURN(Credentials creds, Credentials::Load());
  const StoredLogin* login = creds.Find(url);
  if (!login)
    return Unauthenticated("not logged in to " + url + ": run 'converge login --url " + url + "'" +
                           note);
  return login->token;
}

Result<ApiClient> ConnectWithToken(const std::string& url, const std::string& token,
                                   const ServerFlags& flags, int connect_timeout_s) {
  HttpOptions opts;
  opts.connect_timeout_s = connect_timeout_s;
  opts.token = token;
  opts.ca_file = CaFile(flags);
  ASSIGN_OR_RETURN(HttpClient http, HttpClient::Connect(url, opts));
  return ApiClient(std::move(http));
}

Result<ApiClient> ConnectAuthenticated(const ServerFlags& flags, const Workspace* ws,
                                       int connect_timeout_s) {
  ASSIGN_OR_RETURN(std::string url, ResolveServerUrl(flags, ws));
  ASSIGN_OR_RETURN(std::string token, TokenFor(url));
  return ConnectWithToken(url, token, flags, connect_timeout_s);
}

Result<std::string> ResolveRepo(const std::string& flag, const Workspace* ws) {
  if (!flag.empty()) return flag;
  if (ws && ws->config().remote && !ws->config().remote->repo.empty())
    return ws->config().remote->repo;
  return Invalid("no repo given: pass --repo NAME, or set the workspace's remote with " +
                 std::string("'converge remote set --url URL --repo NAME'"));
}

std::optional<Workspace> FindWorkspaceIfAny() {
  Result<Workspace> ws = Workspace::Find(fs::current_path());
  if (!ws.ok()) return std::nullopt;
  return std::move(*ws);
}

Status ExplainFailure(const Status& st, const std::string& what, const std::string& repo) {
  if (st.code() == Code::kUnauthenticated)
    return Unauthenticated(st.message() +
                           " (your token is missing, expired or revoked: run 'converge login')");
  // The server answers 404 alike for a missing repo and one the caller may not
  // read, so say both.
  std::string missing = "repository " + Quote(repo) + " not found";
  if (st.code() == Code::kNotFound && !repo.empty() && st.message().rfind(missing, 0) == 0)
    return NotFound(missing + " (or you have no access to it)");
  if (st.code() == Code::kPermission && !what.empty())
    return Permission("cannot " + what + ": " + st.message());
  return st;
}

}  // namespace converge

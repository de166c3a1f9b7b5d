// The converge HTTP API (docs/api.md) as typed calls over wire records.
// Repo-scoped calls take the repo name; every call answers a Result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/pack.h"
#include "api/wire.h"
#include "net/http_client.h"

namespace converge {

struct PublicationFilter {
  std::string scope, lane, gate;  // empty: any
  int limit = 100;
  std::string before;  // cursor from a previous page
};

// The audit log's filters (docs/api.md, "Audit"), every one given must
// hold; empty: any. The server checks the values (400 naming a bad one).
struct AuditLogFilter {
  std::string actor, action;
  std::string outcome;       // "ok" or "refused"
  std::string since, until;  // a UTC date or time, inclusive
};

class ApiClient {
 public:
  explicit ApiClient(HttpClient http) : http_(std::move(http)) {}
  HttpClient& http() { return http_; }
  const std::string& url() const { return http_.url(); }
  // The same server on a second connection (HttpClient::Another), knowing
  // what this one learned of its pack versions and limits.
  Result<ApiClient> Another() const;

  Result<wire::Whoami> Whoami();
  Result<wire::CreatedUser> CreateUser(const std::string& handle, bool admin);
  Result<std::vector<wire::User>> ListUsers();
  Result<wire::IssuedToken> CreateToken(const wire::NewTokenRequest& req);
  Result<std::vector<wire::Token>> ListTokens(const std::string& user);
  Result<wire::Token> RevokeToken(const std::string& id);

  // Server admins: `admin` (empty: the caller) becomes the repo's first admin.
  Result<wire::Repo> CreateRepo(const std::string& name, const std::string& admin = "");
  Result<std::vector<wire::Repo>> ListRepos();
  Result<wire::RepoDetails> ShowRepo(const std::string& repo);
  Result<wire::Membership> SetMember(const std::string& repo, const std::string& handle,
                                     const std::string& role);
  Result<wire::Membership> RemoveMember(const std::string& repo, const std::string& handle);
  Result<std::vector<wire::Lane>> ListLanes(const std::string& repo);
  Result<wire::Lane> CreateLane(const std::string& repo, const std::string& lane);
  Result<wire::Lane> AddLaneMember(const std::string& repo, const std::string& lane,
                                   const std::string& handle);
  Result<wire::Lane> RemoveLaneMember(const std::string& repo, const std::string& lane,
                                      const std::string& handle);
  Result<std::vector<wire::Scope>> ListScopes(const std::string& repo);
  Result<wire::Scope> CreateScope(const std::string& repo, const std::string& scope);
  Result<wire::GateGraph> GetGateGraph(const std::string& repo);
  Result<wire::GateGraph> SetGateGraph(const std::string& repo, const wire::GateGraph& graph);

  // Also learns from the answer which pack versions the server takes.
  Result<wire::ObjectIdSet> Missing(const std::string& repo, const wire::ObjectIdSet& ids);
  // The newest pack version (api/pack.h) both this client and the server
  // take in an upload, as the last Missing answer said: 1 until then.
  int upload_pack_version() const { return upload_version_; }
  // The most objects one pack (and one request about objects) may hold: the
  // server's max_ids_per_request, as the last answer to Missing or FetchPack
  // said; kPackObjectsUnannounced until one did.
  uint64_t pack_objects() const { return pack_objects_; }
  // Streams a pack the producer writes (in pack format `version`).
  Result<wire::PackResult> UploadPack(
      const std::string& repo, int version,
      const std::function<Status(const HttpClient::Writer&, bool* done)>& producer);
  // Streams a pack of exactly `ids` into `sink`, asking for the newest pack
  // version (a server that does not know it answers version 1).
  Status FetchPack(const std::string& repo, const wire::ObjectIdSet& ids,
                   const std::function<Status(std::string_view)>& sink);

  Result<wire::Publication> Publish(const std::string& repo, const wire::PublishRequest& req);
  Result<wire::PublicationPage> ListPublications(const std::string& repo,
                                                 const PublicationFilter& filter);
  Result<wire::Publication> GetPublication(const std::string& repo, const std::string& id);
  // repo empty: the whole server's log (server admins).
  Result<wire::AuditPage> Audit(const std::string& repo, int limit, const std::string& before,
                                const AuditLogFilter& filter = {});
  // The key that signs the log's head, and the signed head (server admins).
  Result<wire::AuditKeyInfo> AuditKey();
  Result<wire::AuditHead> AuditHead();

 private:
  std::string RepoPath(const std::string& repo) const;
  HttpClient http_;
  int upload_version_ = 1;
  uint64_t pack_objects_ = kPackObjectsUnannounced;
  void LearnPackObjects();
};

}  // namespace converge

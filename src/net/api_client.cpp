#include "net/api_client.h"

#include <charconv>
#include <system_error>

#include "api/pack.h"

namespace converge {

using json = nlohmann::json;

namespace {

template <class T>
Result<T> Decode(Result<json> j) {
  if (!j.ok()) return j.status();
  T out;
  Status st = wire::FromJson(*j, out);
  if (!st.ok()) return Invalid("unexpected answer from the server: " + st.message());
  return out;
}

std::string Query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    q += (q.empty() ? "?" : "&") + k + "=" + HttpClient::Escape(v);
  }
  return q;
}

}  // namespace

std::string ApiClient::RepoPath(const std::string& repo) const {
  return "/v1/repos/" + HttpClient::Escape(repo);
}

Result<wire::Whoami> ApiClient::Whoami() { return Decode<wire::Whoami>(http_.Get("/v1/whoami")); }

Result<wire::CreatedUser> ApiClient::CreateUser(const std::string& handle, bool admin) {
  return Decode<wire::CreatedUser>(
      http_.Post("/v1/users", wire::ToJson(wire::NewUserRequest{handle, admin})));
}

Result<std::vector<wire::User>> ApiClient::ListUsers() {
  return Decode<std::vector<wire::User>>(http_.Get("/v1/users"));
}

Result<wire::IssuedToken> ApiClient::CreateToken(const wire::NewTokenRequest& req) {
  return Decode<wire::IssuedToken>(http_.Post("/v1/tokens", wire::ToJson(req)));
}

Result<std::vector<wire::Token>> ApiClient::ListTokens(const std::string& user) {
  return Decode<std::vector<wire::Token>>(http_.Get("/v1/tokens" + Query({{"user", user}})));
}

Result<wire::Token> ApiClient::RevokeToken(const std::string& id) {
  return Decode<wire::Token>(http_.Delete("/v1/tokens/" + HttpClient::Escape(id)));
}

Result<wire::Repo> ApiClient::CreateRepo(const std::string& name, const std::string& admin) {
  wire::NewRepoRequest req{name, std::nullopt};
  if (!admin.empty()) req.admin = admin;
  return Decode<wire::Repo>(http_.Post("/v1/repos", wire::ToJson(req)));
}

Result<std::vector<wire::Repo>> ApiClient::ListRepos() {
  return Decode<std::vector<wire::Repo>>(http_.Get("/v1/repos"));
}

Result<wire::RepoDetails> ApiClient::ShowRepo(const std::string& repo) {
  return Decode<wire::RepoDetails>(http_.Get(RepoPath(repo)));
}

Result<wire::Membership> ApiClient::SetMember(const std::string& repo, const std::string& handle,
                                              const std::string& role) {
  return Decode<wire::Membership>(
      http_.Put(RepoPath(repo) + "/members/" + HttpClient::Escape(handle), {{"role", role}}));
}

Result<wire::Membership> ApiClient::RemoveMember(const std::string& repo,
                                                 const std::string& handle) {
  return Decode<wire::Membership>(
      http_.Delete(RepoPath(repo) + "/members/" + HttpClient::Escape(handle)));
}

Result<std::vector<wire::Lane>> ApiClient::ListLanes(const std::string& repo) {
  return Decode<std::vector<wire::Lane>>(http_.Get(RepoPath(repo) + "/lanes"));
}

Result<wire::Lane> ApiClient::CreateLane(const std::string& repo, const std::string& lane) {
  return Decode<wire::Lane>(http_.Post(RepoPath(repo) + "/lanes", {{"name", lane}}));
}

Result<wire::Lane> ApiClient::AddLaneMember(const std::string& repo, const std::string& lane,
                                            const std::string& handle) {
  return Decode<wire::Lane>(http_.Put(RepoPath(repo) + "/lanes/" + HttpClient::Escape(lane) +
                                          "/members/" + HttpClient::Escape(handle),
                                      json::object()));
}

Result<wire::Lane> ApiClient::RemoveLaneMember(const std::string& repo, const std::string& lane,
                                               const std::string& handle) {
  return Decode<wire::Lane>(http_.Delete(RepoPath(repo) + "/lanes/" + HttpClient::Escape(lane) +
                                         "/members/" + HttpClient::Escape(handle)));
}

Result<std::vector<wire::Scope>> ApiClient::ListScopes(const std::string& repo) {
  return Decode<std::vector<wire::Scope>>(http_.Get(RepoPath(repo) + "/scopes"));
}

Result<wire::Scope> ApiClient::CreateScope(const std::string& repo, const std::string& scope) {
  return Decode<wire::Scope>(http_.Post(RepoPath(repo) + "/scopes", {{"name", scope}}));
}

Result<wire::GateGraph> ApiClient::GetGateGraph(const std::string& repo) {
  return Decode<wire::GateGraph>(http_.Get(RepoPath(repo) + "/gate-graph"));
}

Result<wire::GateGraph> ApiClient::SetGateGraph(const std::string& repo,
                                                const wire::GateGraph& graph) {
  return Decode<wire::GateGraph>(http_.Put(RepoPath(repo) + "/gate-graph", wire::ToJson(graph)));
}

Result<wire::ObjectIdSet> ApiClient::Missing(const std::string& repo,
                                             const wire::ObjectIdSet& ids) {
  Result<wire::ObjectIdSet> missing =
      Decode<wire::ObjectIdSet>(http_.Post(RepoPath(repo) + "/objects/missing", wire::ToJson(ids)));
  if (missing.ok()) {
    upload_version_ = PackVersionFromList(http_.LastAnswerHeader(kPackVersionsHeader));
    LearnPackObjects();
  }
  return missing;
}

void ApiClient::LearnPackObjects() {
  std::string most = http_.LastAnswerHeader(kPackObjectsHeader);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(most.data(), most.data() + most.size(), n);
  pack_objects_ =
      ec == std::errc() && end == most.data() + most.size() && n > 0 ? n : kPackObjectsUnannounced;
}

Result<ApiClient> ApiClient::Another() const {
  ASSIGN_OR_RETURN(HttpClient http, http_.Another());
  ApiClient other(std::move(http));
  other.upload_version_ = upload_version_;
  other.pack_objects_ = pack_objects_;
  return other;
}

Result<wire::PackResult> ApiClient::UploadPack(
    const std::string& repo, int version,
    const std::function<Status(const HttpClient::Writer&, bool* done)>& producer) {
  return Decode<wire::PackResult>(
      http_.PostStreamed(RepoPath(repo) + "/objects/pack", PackContentType(version), producer));
}

Status ApiClient::FetchPack(const std::string& repo, const wire::ObjectIdSet& ids,
                            const std::function<Status(std::string_view)>& sink) {
  Status st = http_.PostForStream(RepoPath(repo) + "/objects/fetch", wire::ToJson(ids), sink,
                                  PackContentType(kNewestPackVersion));
  // A refusal says it too (a request naming more than the server takes).
  if (st.ok() || !http_.LastAnswerHeader(kPackObjectsHeader).empty()) LearnPackObjects();
  return st;
}

Result<wire::Publication> ApiClient::Publish(const std::string& repo,
                                             const wire::PublishRequest& req) {
  return Decode<wire::Publication>(http_.Post(RepoPath(repo) + "/publications", wire::ToJson(req)));
}

Result<wire::PublicationPage> ApiClient::ListPublications(const std::string& repo,
                                                          const PublicationFilter& f) {
  std::string q = Query({{"scope", f.scope},
                         {"lane", f.lane},
                         {"gate", f.gate},
                         {"limit", std::to_string(f.limit)},
                         {"before", f.before}});
  return Decode<wire::PublicationPage>(http_.Get(RepoPath(repo) + "/publications" + q));
}

Result<wire::Publication> ApiClient::GetPublication(const std::string& repo,
                                                    const std::string& id) {
  return Decode<wire::Publication>(
      http_.Get(RepoPath(repo) + "/publications/" + HttpClient::Escape(id)));
}

Result<wire::AuditPage> ApiClient::Audit(const std::string& repo, int limit,
                                         const std::string& before, const AuditLogFilter& f) {
  std::string base = repo.empty() ? "/v1/audit" : RepoPath(repo) + "/audit";
  return Decode<wire::AuditPage>(http_.Get(base + Query({{"limit", std::to_string(limit)},
                                                         {"before", before},
                                                         {"actor", f.actor},
                                                         {"action", f.action},
                                                         {"outcome", f.outcome},
                                                         {"since", f.since},
                                                         {"until", f.until}})));
}

Result<wire::AuditKeyInfo> ApiClient::AuditKey() {
  return Decode<wire::AuditKeyInfo>(http_.Get("/v1/audit/key"));
}

Result<wire::AuditHead> ApiClient::AuditHead() {
  return Decode<wire::AuditHead>(http_.Get("/v1/audit/head"));
}

}  // namespace converge

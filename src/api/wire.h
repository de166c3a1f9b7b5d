// The records the server and its clients exchange, as plain structs with
// ToJson/FromJson (docs/api.md fixes every field). Both sides use these, so a
// field is spelled in exactly one place.
//
// FromJson fails with kInvalid naming the field when a required field is
// missing or has the wrong type; unknown fields are ignored, so an older
// reader accepts a newer writer's records. FromRequestJson, for the request
// bodies the server reads, refuses unknown fields too, naming them, so a
// typo in a request is never silently ignored.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/hash.h"
#include "store/objects.h"
#include "store/publication.h"

namespace converge::wire {

using nlohmann::json;

struct ApiError {
  std::string code;  // CodeName(): "invalid", "not_found", ...
  std::string message;
};

struct Health {
  std::string status;  // "ok"
  std::string version;
};

struct User {
  int64_t id = 0;
  std::string handle;
  bool admin = false;
  std::string created_at;
};

struct Whoami {
  User user;
  std::string token_id;
};

// A token as listed: never its secret.
struct Token {
  std::string id;  // 16 hex characters
  std::string label;
  std::string user;  // handle
  std::string created_at;
  std::optional<std::string> last_used_at;
  std::optional<std::string> expires_at;
  bool revoked = false;
  // The token it was made with, when it is bound to it (docs/api.md, Tokens).
  std::optional<std::string> parent;
};

// A token just made: the only time its secret is shown.
struct IssuedToken {
  std::string id;
  std::string token;  // cvg_<id>_<secret>
  std::string label;
  std::string user;
  std::string created_at;
  std::optional<std::string> expires_at;
  std::optional<std::string> parent;  // as in Token
};

struct CreatedUser {
  User user;
  std::string token;  // its first token, shown once
  std::string token_id;
};

struct NewUserRequest {
  std::string handle;
  bool admin = false;
};

struct NewTokenRequest {
  std::optional<std::string> user;  // default: the caller
  std::string label;
  std::optional<int64_t> expires_in_days;
};

struct NewRepoRequest {
  std::string name;
  std::optional<std::string> admin;  // the repo's first admin; default: the caller
};

struct Repo {
  std::string name;
  std::string created_at;
  std::string created_by;  // handle
  std::string role;        // the caller's: "read", "publish" or "admin"
};

struct Member {
  std::string handle;
  std::string role;
};

// The answer to setting or removing a member; role is null once removed.
struct Membership {
  std::string repo;
  std::string handle;
  std::optional<std::string> role;
};

struct Lane {
  std::string name;
  std::string created_at;
  std::vector<std::string> members;  // handles, sorted
};

struct Scope {
  std::string name;
  std::string created_at;
};

struct Gate {
  std::string id;
  std::vector<std::string> upstream;
  std::optional<std::string> description;
};

struct GateGraph {
  std::vector<Gate> gates;
};

struct RepoDetails {
  Repo repo;
  std::vector<Member> members;
  std::vector<Lane> lanes;
  std::vector<Scope> scopes;
  GateGraph gate_graph;
};

// IDs grouped by kind: the body of objects/missing and objects/fetch, and the
// answer of objects/missing.
struct ObjectIdSet {
  std::vector<ObjectId> blobs, manifests, snaps, chunklists;

  std::vector<ObjectId>& of(ObjectKind kind);
  const std::vector<ObjectId>& of(ObjectKind kind) const;
  size_t size() const { return blobs.size() + manifests.size() + snaps.size() + chunklists.size(); }
};

struct StoredObject {
  std::string id;
  std::string kind;
  uint64_t size = 0;
  bool stored = false;  // false when the repo had it already
};

struct PackResult {
  uint64_t objects = 0;  // objects in the pack
  uint64_t stored = 0;   // of those, new to the repo
  uint64_t bytes = 0;    // object bytes received
};

struct PublishRequest {
  std::string snap;
  std::string scope;
  std::string gate;
  std::string lane;
  std::string note;
  std::string workspace_id;
  std::string client_version;
  std::string host;
};

// The publication record is the store's (store/publication.h); its JSON is here.
using Publication = converge::Publication;

// The publication's canonical JSON without "id", whose hash is its id.
std::string PublicationIdInput(const Publication& p);
// Ok when p.id is the hash of PublicationIdInput(p); kCorrupt (naming it as
// an altered record a server sent) otherwise.
Status VerifyPublicationId(const Publication& p);

struct PublicationPage {
  std::vector<Publication> publications;
  std::optional<std::string> next;  // cursor for ?before=, null on the last page
};

struct AuditEntry {
  int64_t seq = 0;
  std::string at;
  std::string actor;
  std::optional<int64_t> actor_id;
  std::string action;
  std::string repo;
  std::string target;
  std::string outcome;  // "ok" or "refused: <code>"
  std::string detail;
  std::string remote_addr;
  std::string prev_hash;
  std::string hash;
};

// The canonical JSON the audit chain hashes: every field but the two hashes.
std::string AuditHashInput(const AuditEntry& e);

struct AuditPage {
  std::vector<AuditEntry> entries;
  std::optional<std::string> next;
};

// GET /v1/audit/key: the key that signs the chain's head.
struct AuditKeyInfo {
  std::string algorithm = "ed25519";
  std::string public_key;   // 64 hex
  std::string fingerprint;  // "ed25519:" + 32 hex
};

// GET /v1/audit/head: the newest row, signed (server/audit_key.h says what
// the signature covers).
struct AuditHead {
  int64_t seq = 0;
  std::string hash;
  std::string public_key;
  std::string signature;  // 128 hex
};

json ToJson(const ApiError& v);
json ToJson(const Health& v);
json ToJson(const User& v);
json ToJson(const Whoami& v);
json ToJson(const Token& v);
json ToJson(const IssuedToken& v);
json ToJson(const CreatedUser& v);
json ToJson(const NewUserRequest& v);
json ToJson(const NewTokenRequest& v);
json ToJson(const NewRepoRequest& v);
json ToJson(const Repo& v);
json ToJson(const Member& v);
json ToJson(const Membership& v);
json ToJson(const Lane& v);
json ToJson(const Scope& v);
json ToJson(const Gate& v);
json ToJson(const GateGraph& v);
json ToJson(const RepoDetails& v);
json ToJson(const ObjectIdSet& v);
json ToJson(const StoredObject& v);
json ToJson(const PackResult& v);
json ToJson(const PublishRequest& v);
json ToJson(const Publication& v);
json ToJson(const PublicationPage& v);
json ToJson(const AuditEntry& v);
json ToJson(const AuditPage& v);
json ToJson(const AuditKeyInfo& v);
json ToJson(const AuditHead& v);

// Lists: [T, ...].
template <class T>
json ToJson(const std::vector<T>& v) {
  json a = json::array();
  for (const T& x : v) a.push_back(ToJson(x));
  return a;
}

}  // namespace converge::wire

// FromJson and FromRequestJson, the reading half (wire_parse.cpp).
#include "api/wire_parse.h"  // IWYU pragma: export

#include "net/wire.h"

namespace converge::wire {

namespace {

json OptToJson(const std::optional<std::string>& v) {
  return v ? json(*v) : json(nullptr);
}

// Reads fields of one JSON object, keeping the first error; every accessor
// leaves `out` alone when the field is absent and optional.
class Fields {
 public:
  Fields(const json& j, const char* what) : j_(j), what_(what) {
    if (!j_.is_object()) status_ = Invalid(std::string(what) + " is not a JSON object");
  }

  const Status& status() const { return status_; }

  void Str(const char* key, std::string& out, bool required = true) {
    const json* v = Get(key, required);
    if (!v) return;
    if (!v->is_string()) return Fail(key, "a string");
    out = v->get<std::string>();
  }
  void OptStr(const char* key, std::optional<std::string>& out) {
    const json* v = Get(key, false);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return Fail(key, "a string or null");
    out = v->get<std::string>();
  }
  void Int(const char* key, int64_t& out, bool required = true) {
    const json* v = Get(key, required);
    if (!v) return;
    if (!v->is_number_integer()) return Fail(key, "an integer");
    out = v->get<int64_t>();
  }
  void OptInt(const char* key, std::optional<int64_t>& out) {
    const json* v = Get(key, false);
    if (!v || v->is_null()) return;
    if (!v->is_number_integer()) return Fail(key, "an integer or null");
    out = v->get<int64_t>();
  }
  void Uint(const char* key, uint64_t& out) {
    const json* v = Get(key, true);
    if (!v) return;
    if (!v->is_number_unsigned()) return Fail(key, "a non-negative integer");
    out = v->get<uint64_t>();
  }
  void Bool(const char* key, bool& out, bool required = true) {
    const json* v = Get(key, required);
    if (!v) return;
    if (!v->is_boolean()) return Fail(key, "true or false");
    out = v->get<bool>();
  }
  void StrList(const char* key, std::vector<std::string>& out, bool required = true) {
    const json* v = Get(key, required);
    if (!v) return;
    if (!v->is_array()) return Fail(key, "an array of strings");
    out.clear();
    for (const json& e : *v) {
      if (!e.is_string()) return Fail(key, "an array of strings");
      out.push_back(e.get<std::string>());
    }
  }
  template <class T>
  void Obj(const char* key, T& out, bool required = true) {
    const json* v = Get(key, required);
    if (!v) return;
    Status st = FromJson(*v, out);
    if (!st.ok()) status_ = st.With(std::string(what_) + " \"" + key + "\"");
  }
  void Ids(const char* key, std::vector<ObjectId>& out) {
    const json* v = Get(key, false);
    if (!v) return;
    if (!v->is_array()) return Fail(key, "an array of object IDs");
    out.clear();
    out.reserve(v->size());
    for (const json& e : *v) {
      std::optional<ObjectId> id;
      if (e.is_string()) id = ObjectId::FromHex(e.get_ref<const std::string&>());
      if (!id) {
        status_ =
            Invalid(std::string(what_) + " \"" + key + "\" holds " +
                    (e.is_string() ? "'" + e.get<std::string>().substr(0, 80) + "'" : e.dump()) +
                    ", which is not a 64-hex-digit object ID");
        return;
      }
      out.push_back(*id);
    }
  }
  // "next": a cursor string or null.
  void Cursor(const char* key, std::optional<std::string>& out) { OptStr(key, out); }

 private:
  const json* Get(const char* key, bool required) {
    if (!status_.ok()) return nullptr;
    auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) status_ = Invalid(std::string(what_) + " lacks field \"" + key + "\"");
      return nullptr;
    }
    return &*it;
  }
  void Fail(const char* key, const char* expected) {
    status_ = Invalid(std::string(what_) + " field \"" + key + "\" must be " + expected);
  }

  const json& j_;
  const char* what_;
  Status status_;
};

json IdsToJson(const std::vector<ObjectId>& ids) {
  json a = json::array();
  for (const ObjectId& id : ids) a.push_back(id.hex());
  return a;
}

// The publication's fields but "id", in the shape its id is computed over.
json PublicationBody(const Publication& v) {
  return {{"repo", v.repo},
          {"snap", v.snap},
          {"scope", v.scope},
          {"gate", v.gate},
          {"lane", v.lane},
          {"publisher", v.publisher},
          {"publisher_id", v.publisher_id},
          {"created_at", v.created_at},
          {"workspace_id", v.workspace_id},
          {"client_version", v.client_version},
          {"host", v.host},
          {"note", v.note}};
}

json AuditBody(const AuditEntry& v) {
  return {{"seq", v.seq},       {"at", v.at},
          {"actor", v.actor},   {"actor_id", v.actor_id ? json(*v.actor_id) : json(nullptr)},
          {"action", v.action}, {"repo", v.repo},
          {"target", v.target}, {"outcome", v.outcome},
          {"detail", v.detail}, {"remote_addr", v.remote_addr}};
}

}  // namespace

std::vector<ObjectId>& ObjectIdSet::of(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kBlob:
      return blobs;
    case ObjectKind::kManifest:
      return manifests;
    case ObjectKind::kSnap:
      return snaps;
    case ObjectKind::kChunkList:
      return chunklists;
  }
  return blobs;
}

const std::vector<ObjectId>& ObjectIdSet::of(ObjectKind kind) const {
  return const_cast<ObjectIdSet*>(this)->of(kind);
}

// nlohmann's object is a std::map: dump() sorts keys and adds no whitespace.
std::string PublicationIdInput(const Publication& p) {
  return PublicationBody(p).dump();
}
std::string AuditHashInput(const AuditEntry& e) {
  return AuditBody(e).dump();
}

json ToJson(const ApiError& v) {
  return {{"error", {{"code", v.code}, {"message", v.message}}}};
}
json ToJson(const Health& v) {
  return {{"status", v.status}, {"version", v.version}};
}
json ToJson(const User& v) {
  return {{"id", v.id}, {"handle", v.handle}, {"admin", v.admin}, {"created_at", v.created_at}};
}
json ToJson(const Whoami& v) {
  return {{"user", ToJson(v.user)}, {"token_id", v.token_id}};
}
json ToJson(const Token& v) {
  return {{"id", v.id},
          {"label", v.label},
          {"user", v.user},
          {"created_at", v.created_at},
          {"last_used_at", OptToJson(v.last_used_at)},
          {"expires_at", OptToJson(v.expires_at)},
          {"revoked", v.revoked}};
}
json ToJson(const IssuedToken& v) {
  return {{"id", v.id},     {"token", v.token},           {"label", v.label},
          {"user", v.user}, {"created_at", v.created_at}, {"expires_at", OptToJson(v.expires_at)}};
}
json ToJson(const CreatedUser& v) {
  return {{"user", ToJson(v.user)}, {"token", v.token}, {"token_id", v.token_id}};
}
json ToJson(const NewUserRequest& v) {
  return {{"handle", v.handle}, {"admin", v.admin}};
}
json ToJson(const NewTokenRequest& v) {
  json j = {{"label", v.label}};
  if (v.user) j["user"] = *v.user;
  if (v.expires_in_days) j["expires_in_days"] = *v.expires_in_days;
  return j;
}
json ToJson(const Repo& v) {
  return {{"name", v.name},
          {"created_at", v.created_at},
          {"created_by", v.created_by},
          {"role", v.role}};
}
json ToJson(const Member& v) {
  return {{"handle", v.handle}, {"role", v.role}};
}
json ToJson(const Membership& v) {
  return {{"repo", v.repo}, {"handle", v.handle}, {"role", OptToJson(v.role)}};
}
json ToJson(const Lane& v) {
  return {{"name", v.name}, {"created_at", v.created_at}, {"members", v.members}};
}
json ToJson(const Scope& v) {
  return {{"name", v.name}, {"created_at", v.created_at}};
}
json ToJson(const Gate& v) {
  json j = {{"id", v.id}, {"upstream", v.upstream}};
  if (v.description) j["description"] = *v.description;
  return j;
}
json ToJson(const GateGraph& v) {
  return {{"gates", ToJson(v.gates)}};
}
json ToJson(const RepoDetails& v) {
  json j = ToJson(v.repo);
  j["members"] = ToJson(v.members);
  j["lanes"] = ToJson(v.lanes);
  j["scopes"] = ToJson(v.scopes);
  j["gate_graph"] = ToJson(v.gate_graph);
  return j;
}
json ToJson(const ObjectIdSet& v) {
  return {{"blobs", IdsToJson(v.blobs)},
          {"manifests", IdsToJson(v.manifests)},
          {"snaps", IdsToJson(v.snaps)},
          {"chunklists", IdsToJson(v.chunklists)}};
}
json ToJson(const StoredObject& v) {
  return {{"id", v.id}, {"kind", v.kind}, {"size", v.size}, {"stored", v.stored}};
}
json ToJson(const PackResult& v) {
  return {{"objects", v.objects}, {"stored", v.stored}, {"bytes", v.bytes}};
}
json ToJson(const PublishRequest& v) {
  return {{"snap", v.snap},
          {"scope", v.scope},
          {"gate", v.gate},
          {"lane", v.lane},
          {"note", v.note},
          {"workspace_id", v.workspace_id},
          {"client_version", v.client_version},
          {"host", v.host}};
}
json ToJson(const Publication& v) {
  json j = PublicationBody(v);
  j["id"] = v.id;
  return j;
}
json ToJson(const PublicationPage& v) {
  return {{"publications", ToJson(v.publications)}, {"next", OptToJson(v.next)}};
}
json ToJson(const AuditEntry& v) {
  json j = AuditBody(v);
  j["prev_hash"] = v.prev_hash;
  j["hash"] = v.hash;
  return j;
}
json ToJson(const AuditPage& v) {
  return {{"entries", ToJson(v.entries)}, {"next", OptToJson(v.next)}};
}

Status FromJson(const json& j, ApiError& out) {
  if (!j.is_object() || !j.contains("error")) return Invalid("not an error answer");
  Fields f(j["error"], "error");
  f.Str("code", out.code);
  f.Str("message", out.message);
  return f.status();
}
Status FromJson(const json& j, Health& out) {
  Fields f(j, "health");
  f.Str("status", out.status);
  f.Str("version", out.version, false);
  return f.status();
}
Status FromJson(const json& j, User& out) {
  Fields f(j, "user");
  f.Int("id", out.id);
  f.Str("handle", out.handle);
  f.Bool("admin", out.admin);
  f.Str("created_at", out.created_at);
  return f.status();
}
Status FromJson(const json& j, Whoami& out) {
  Fields f(j, "whoami");
  f.Obj("user", out.user);
  f.Str("token_id", out.token_id);
  return f.status();
}
Status FromJson(const json& j, Token& out) {
  Fields f(j, "token");
  f.Str("id", out.id);
  f.Str("label", out.label);
  f.Str("user", out.user);
  f.Str("created_at", out.created_at);
  f.OptStr("last_used_at", out.last_used_at);
  f.OptStr("expires_at", out.expires_at);
  f.Bool("revoked", out.revoked);
  return f.status();
}
Status FromJson(const json& j, IssuedToken& out) {
  Fields f(j, "token");
  f.Str("id", out.id);
  f.Str("token", out.token);
  f.Str("label", out.label);
  f.Str("user", out.user);
  f.Str("created_at", out.created_at);
  f.OptStr("expires_at", out.expires_at);
  return f.status();
}
Status FromJson(const json& j, CreatedUser& out) {
  Fields f(j, "new user");
  f.Obj("user", out.user);
  f.Str("token", out.token);
  f.Str("token_id", out.token_id);
  return f.status();
}
Status FromJson(const json& j, NewUserRequest& out) {
  Fields f(j, "request");
  f.Str("handle", out.handle);
  f.Bool("admin", out.admin, false);
  return f.status();
}
Status FromJson(const json& j, NewTokenRequest& out) {
  Fields f(j, "request");
  f.OptStr("user", out.user);
  f.Str("label", out.label, false);
  f.OptInt("expires_in_days", out.expires_in_days);
  return f.status();
}
Status FromJson(const json& j, Repo& out) {
  Fields f(j, "repo");
  f.Str("name", out.name);
  f.Str("created_at", out.created_at, false);
  f.Str("created_by", out.created_by, false);
  f.Str("role", out.role, false);
  return f.status();
}
Status FromJson(const json& j, Member& out) {
  Fields f(j, "member");
  f.Str("handle", out.handle);
  f.Str("role", out.role);
  return f.status();
}
Status FromJson(const json& j, Membership& out) {
  Fields f(j, "membership");
  f.Str("repo", out.repo);
  f.Str("handle", out.handle);
  f.OptStr("role", out.role);
  return f.status();
}
Status FromJson(const json& j, Lane& out) {
  Fields f(j, "lane");
  f.Str("name", out.name);
  f.Str("created_at", out.created_at, false);
  f.StrList("members", out.members, false);
  return f.status();
}
Status FromJson(const json& j, Scope& out) {
  Fields f(j, "scope");
  f.Str("name", out.name);
  f.Str("created_at", out.created_at, false);
  return f.status();
}
Status FromJson(const json& j, Gate& out) {
  Fields f(j, "gate");
  f.Str("id", out.id);
  f.StrList("upstream", out.upstream, false);
  f.OptStr("description", out.description);
  return f.status();
}
Status FromJson(const json& j, GateGraph& out) {
  Fields f(j, "gate graph");
  f.Obj("gates", out.gates);
  return f.status();
}
Status FromJson(const json& j, RepoDetails& out) {
  RETURN_IF_ERROR(FromJson(j, out.repo));
  Fields f(j, "repo");
  f.Obj("members", out.members);
  f.Obj("lanes", out.lanes);
  f.Obj("scopes", out.scopes);
  f.Obj("gate_graph", out.gate_graph);
  return f.status();
}
Status FromJson(const json& j, ObjectIdSet& out) {
  Fields f(j, "request");
  f.Ids("blobs", out.blobs);
  f.Ids("manifests", out.manifests);
  f.Ids("snaps", out.snaps);
  f.Ids("chunklists", out.chunklists);
  return f.status();
}
Status FromJson(const json& j, StoredObject& out) {
  Fields f(j, "object");
  f.Str("id", out.id);
  f.Str("kind", out.kind);
  f.Uint("size", out.size);
  f.Bool("stored", out.stored);
  return f.status();
}
Status FromJson(const json& j, PackResult& out) {
  Fields f(j, "pack result");
  f.Uint("objects", out.objects);
  f.Uint("stored", out.stored);
  f.Uint("bytes", out.bytes);
  return f.status();
}
Status FromJson(const json& j, PublishRequest& out) {
  Fields f(j, "publication request");
  f.Str("snap", out.snap);
  f.Str("scope", out.scope);
  f.Str("gate", out.gate);
  f.Str("lane", out.lane);
  f.Str("note", out.note, false);
  f.Str("workspace_id", out.workspace_id, false);
  f.Str("client_version", out.client_version, false);
  f.Str("host", out.host, false);
  return f.status();
}
Status FromJson(const json& j, Publication& out) {
  Fields f(j, "publication");
  f.Str("id", out.id);
  f.Str("repo", out.repo);
  f.Str("snap", out.snap);
  f.Str("scope", out.scope);
  f.Str("gate", out.gate);
  f.Str("lane", out.lane);
  f.Str("publisher", out.publisher);
  f.Int("publisher_id", out.publisher_id);
  f.Str("created_at", out.created_at);
  f.Str("workspace_id", out.workspace_id);
  f.Str("client_version", out.client_version);
  f.Str("host", out.host);
  f.Str("note", out.note);
  return f.status();
}
Status FromJson(const json& j, PublicationPage& out) {
  Fields f(j, "publication list");
  f.Obj("publications", out.publications);
  f.Cursor("next", out.next);
  return f.status();
}
Status FromJson(const json& j, AuditEntry& out) {
  Fields f(j, "audit entry");
  f.Int("seq", out.seq);
  f.Str("at", out.at);
  f.Str("actor", out.actor);
  f.OptInt("actor_id", out.actor_id);
  f.Str("action", out.action);
  f.Str("repo", out.repo);
  f.Str("target", out.target);
  f.Str("outcome", out.outcome);
  f.Str("detail", out.detail);
  f.Str("remote_addr", out.remote_addr);
  f.Str("prev_hash", out.prev_hash);
  f.Str("hash", out.hash);
  return f.status();
}
Status FromJson(const json& j, AuditPage& out) {
  Fields f(j, "audit page");
  f.Obj("entries", out.entries);
  f.Cursor("next", out.next);
  return f.status();
}

}  // namespace converge::wire

// FromJson, the strict half of wire.h: every field checked for presence and type.
#include "api/wire_parse.h"

#include "base/text.h"

namespace converge::wire {

namespace {

// How many StrictReading objects are alive on this thread.
thread_local int strict_depth = 0;

// Reads fields of one JSON object, keeping the first error; every accessor
// leaves `out` alone when the field is absent and optional.
class Fields {
 public:
  Fields(const json& j, const char* what) : j_(j), what_(what) {
    if (!j_.is_object()) status_ = Invalid(std::string(what) + " is not a JSON object");
  }

  // The first error; under StrictReading also a field nobody asked for.
  const Status& status() {
    if (status_.ok() && strict_depth > 0) CheckKnown();
    return status_;
  }

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
    known_.push_back(key);
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

  void CheckKnown() {
    for (const auto& [key, value] : j_.items()) {
      bool known = false;
      for (const char* k : known_) known = known || key == k;
      if (known) continue;
      std::string list;
      for (const char* k : known_) list += std::string(list.empty() ? "" : ", ") + "\"" + k + "\"";
      status_ =
          Invalid(std::string(what_) + " has an unknown field " +
                  Quote(std::string_view(key).substr(0, 80)) + " (known fields: " + list + ")");
      return;
    }
  }

  const json& j_;
  const char* what_;
  Status status_;
  std::vector<const char*> known_;  // every field asked for
};

}  // namespace

StrictReading::StrictReading() {
  strict_depth++;
}
StrictReading::~StrictReading() {
  strict_depth--;
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
  f.OptStr("parent", out.parent);
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
  f.OptStr("parent", out.parent);
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
Status FromJson(const json& j, NewRepoRequest& out) {
  Fields f(j, "request");
  f.Str("name", out.name);
  f.OptStr("admin", out.admin);
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
Status FromJson(const json& j, AuditKeyInfo& out) {
  Fields f(j, "audit key");
  f.Str("algorithm", out.algorithm);
  f.Str("public_key", out.public_key);
  f.Str("fingerprint", out.fingerprint);
  return f.status();
}
Status FromJson(const json& j, AuditHead& out) {
  Fields f(j, "audit head");
  f.Int("seq", out.seq);
  f.Str("hash", out.hash);
  f.Str("public_key", out.public_key);
  f.Str("signature", out.signature);
  return f.status();
}

}  // namespace converge::wire

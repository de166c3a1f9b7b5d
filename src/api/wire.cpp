// wire.h: ToJson, and the canonical forms that ids and audit hashes are computed over.
#include "api/wire.h"

namespace converge::wire {

namespace {

json OptToJson(const std::optional<std::string>& v) {
  return v ? json(*v) : json(nullptr);
}

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
Status VerifyPublicationId(const Publication& p) {
  if (ObjectId::Of(PublicationIdInput(p)).hex() != p.id)
    return Corrupt("publication " + p.id + " does not match its content: the server sent " +
                   "an altered record; refusing it");
  return Status::Ok();
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
          {"revoked", v.revoked},
          {"parent", OptToJson(v.parent)}};
}
json ToJson(const IssuedToken& v) {
  return {{"id", v.id},
          {"token", v.token},
          {"label", v.label},
          {"user", v.user},
          {"created_at", v.created_at},
          {"expires_at", OptToJson(v.expires_at)},
          {"parent", OptToJson(v.parent)}};
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
json ToJson(const NewRepoRequest& v) {
  json j = {{"name", v.name}};
  if (v.admin) j["admin"] = *v.admin;
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
json ToJson(const AuditKeyInfo& v) {
  return {{"algorithm", v.algorithm}, {"public_key", v.public_key}, {"fingerprint", v.fingerprint}};
}
json ToJson(const AuditHead& v) {
  return {
      {"seq", v.seq}, {"hash", v.hash}, {"public_key", v.public_key}, {"signature", v.signature}};
}

}  // namespace converge::wire

// wire.h's reading half (defined in wire_parse.cpp): FromJson for every
// record of wire.h, and FromRequestJson for the bodies the server reads
// (docs/api.md "Conventions").
//
// FromJson needs a parsed JSON value (base/json.h bounds its depth) and
// returns kInvalid naming the record and the field when a required field is
// missing or has the wrong type; unknown fields are ignored, so an older
// reader accepts a newer writer's records. FromRequestJson refuses unknown
// fields too, naming them and the known ones ("request has an unknown field
// ..."), so a typo in a request is never silently ignored. On an error `out`
// may be partly filled: use it only on Ok.
//
// wire.h includes this file at its end, so either include gives both halves.
#pragma once

#include <vector>

#include "api/wire.h"
#include "base/status.h"

namespace converge::wire {

Status FromJson(const json& j, ApiError& out);
Status FromJson(const json& j, Health& out);
Status FromJson(const json& j, User& out);
Status FromJson(const json& j, Whoami& out);
Status FromJson(const json& j, Token& out);
Status FromJson(const json& j, IssuedToken& out);
Status FromJson(const json& j, CreatedUser& out);
Status FromJson(const json& j, NewUserRequest& out);
Status FromJson(const json& j, NewTokenRequest& out);
Status FromJson(const json& j, NewRepoRequest& out);
Status FromJson(const json& j, Repo& out);
Status FromJson(const json& j, Member& out);
Status FromJson(const json& j, Membership& out);
Status FromJson(const json& j, Lane& out);
Status FromJson(const json& j, Scope& out);
Status FromJson(const json& j, Gate& out);
Status FromJson(const json& j, GateGraph& out);
Status FromJson(const json& j, RepoDetails& out);
Status FromJson(const json& j, ObjectIdSet& out);
Status FromJson(const json& j, StoredObject& out);
Status FromJson(const json& j, PackResult& out);
Status FromJson(const json& j, PublishRequest& out);
Status FromJson(const json& j, Publication& out);
Status FromJson(const json& j, PublicationPage& out);
Status FromJson(const json& j, AuditEntry& out);
Status FromJson(const json& j, AuditPage& out);
Status FromJson(const json& j, AuditKeyInfo& out);
Status FromJson(const json& j, AuditHead& out);

// Lists: [T, ...]; kInvalid unless an array of valid T.
template <class T>
Status FromJson(const json& j, std::vector<T>& out) {
  if (!j.is_array()) return Invalid("expected a JSON array");
  out.clear();
  for (const json& e : j) {
    T x;
    RETURN_IF_ERROR(FromJson(e, x));
    out.push_back(std::move(x));
  }
  return Status::Ok();
}

// While one is alive, FromJson on this thread refuses unknown fields.
class StrictReading {
 public:
  StrictReading();
  ~StrictReading();
  StrictReading(const StrictReading&) = delete;
  StrictReading& operator=(const StrictReading&) = delete;
};

template <class T>
Status FromRequestJson(const json& j, T& out) {
  StrictReading strict;
  return FromJson(j, out);
}

}  // namespace converge::wire

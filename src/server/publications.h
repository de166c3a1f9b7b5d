// Publications: immutable records that a snap is complete for a lane's part at
// a gate of a scope. Creating one needs the publish role and membership of the
// lane (server admins need neither); the snap must be in the repo, the scope
// must exist and the gate must be in the gate graph. The id is the BLAKE2b-256
// of the record's canonical JSON without "id" (wire::PublicationIdInput), so a
// holder can check a record was not altered. Publishing never merges and
// never waits on other publications.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/wire.h"
#include "server/caller.h"
#include "server/db_pool.h"

namespace converge {

struct PublicationQuery {
  std::optional<std::string> scope, lane, gate;
  int limit = 100;
  std::optional<int64_t> before;  // a seq cursor from a previous page's "next"
};

class Publications {
 public:
  explicit Publications(DbPool& dbs) : dbs_(dbs) {}

  // Records a publication of `req` in `repo`. Role: publish, and membership
  // of the lane (server admins need neither). Needs: the snap (and its
  // closure) uploaded to the repo, the scope and gate to exist. Returns the
  // record, its id the hash of its content. Errors: kInvalid (malformed snap
  // ID, note or fields), kNotFound (repo not visible, lane, scope or gate
  // missing), kPermission (role or lane), kCorrupt (snap not in the repo, or
  // too deep), the database's. Audit: "publication.create", ok or refused.
  Result<wire::Publication> Create(const Caller& caller, std::string_view repo,
                                   const wire::PublishRequest& req);
  // One page of the repo's publications matching `filter`, newest first, with
  // `next` set when there are more. Role: read. Errors: kNotFound (repo not
  // visible), the database's. Audit: "publication.list" only when refused.
  Result<wire::PublicationPage> List(const Caller& caller, std::string_view repo,
                                     const PublicationQuery& filter);
  // By full id or a unique prefix of 4 to 64 lowercase hex digits
  // (store/id_prefix.h). Role: read. Errors: kInvalid (malformed prefix,
  // checked first), kNotFound (repo not visible, or no such publication in
  // it), kConflict (ambiguous prefix: 409), the database's. Audit:
  // "publication.read" only when refused.
  Result<wire::Publication> Get(const Caller& caller, std::string_view repo,
                                std::string_view id_or_prefix);

 private:
  DbPool& dbs_;
};

}  // namespace converge

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

// A publications row selected as "seq, id, snap, scope, gate, lane,
// publisher_id, publisher_handle, created_at, workspace_id, client_version,
// host, note" (columns 0-12), as a wire record of `repo`.
wire::Publication PublicationFromRow(const Stmt& q, const std::string& repo);

struct PublicationQuery {
  std::optional<std::string> scope, lane, gate;
  int limit = 100;
  std::optional<int64_t> before;  // a seq cursor from a previous page's "next"
};

class Publications {
 public:
  explicit Publications(DbPool& dbs) : dbs_(dbs) {}

  Result<wire::Publication> Create(const Caller& caller, std::string_view repo,
                                   const wire::PublishRequest& req);
  // Newest first.
  Result<wire::PublicationPage> List(const Caller& caller, std::string_view repo,
                                     const PublicationQuery& filter);
  // By full id or a unique prefix of at least 4 hex digits (kConflict when ambiguous).
  Result<wire::Publication> Get(const Caller& caller, std::string_view repo,
                                std::string_view id_or_prefix);

 private:
  DbPool& dbs_;
};

}  // namespace converge

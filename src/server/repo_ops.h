// The two shapes every registry operation on one repo takes, written once:
// a read by a repo reader and a change by a repo admin. Both resolve the repo
// through Authorize (server/authz.h), so a caller who may not read it gets the
// same kNotFound as for a missing repo, and both record a refusal in the
// audit log (outcome "refused: <code>") under `action`.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "server/authz.h"
#include "server/db_pool.h"

namespace converge {

// Acquires a connection, authorizes `caller` to read `repo` (kRead) and
// returns load(db, access). Errors: what Authorize gives (kNotFound for a
// missing or hidden repo, audited as refused), then load's own.
// Nothing is audited when it succeeds: reads are not state changes.
template <class F>
auto ReadRepo(DbPool& dbs, const Caller& caller, const char* action, std::string_view repo,
              F&& load) -> decltype(load(std::declval<Db&>(), std::declval<const RepoAccess&>())) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs.Acquire());
  Attempt attempt(*db, caller, action, std::string(repo));
  ASSIGN_OR_RETURN(RepoAccess a, attempt.Done(Authorize(attempt, repo, Role::kRead)));
  return load(*db, a);
}

// Acquires a connection, opens a write transaction, authorizes `caller` as an
// admin of `repo` (kAdmin) and runs change(db, attempt, access), which
// validates, writes its records and its audit row (attempt.Ok(...)); commits
// when it succeeds. Errors: Authorize's (kNotFound for a missing or hidden
// repo, kPermission below admin; both audited as refused under `action` and
// `target`), then change's own (not audited unless it refuses the attempt).
template <class F>
auto ChangeRepo(DbPool& dbs, const Caller& caller, const char* action, std::string_view repo,
                std::string target, F&& change)
    -> decltype(change(std::declval<Db&>(), std::declval<Attempt&>(),
                       std::declval<const RepoAccess&>())) {
  using R = decltype(change(std::declval<Db&>(), std::declval<Attempt&>(),
                            std::declval<const RepoAccess&>()));
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs.Acquire());
  Attempt attempt(*db, caller, action, std::string(repo), std::move(target));
  auto run = [&]() -> R {
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(RepoAccess a, Authorize(attempt, repo, Role::kAdmin));
    ASSIGN_OR_RETURN(auto out, change(*db, attempt, a));
    RETURN_IF_ERROR(tx.Commit());
    return out;
  };
  return attempt.Done(run());
}

}  // namespace converge

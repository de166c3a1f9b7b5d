// The one resolver of abbreviated IDs (snaps, fetched publications, the
// server's publications): a full ID or a unique prefix of 4 to 64 lowercase
// hex characters. Records classes call it for their own table; nothing else
// should look IDs up by prefix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/db.h"

namespace converge {

// Where a prefix is looked up, and how the messages name what was looked for.
struct IdPrefixScope {
  const char* table = "";  // a table with a unique TEXT column `id`
  const char* what = "";   // "snap", "publication"
  // Only rows whose `filter_column` equals `filter_value` (none when null),
  // e.g. the server's repo_id: another repo's rows are not found.
  const char* filter_column = nullptr;
  int64_t filter_value = 0;
  // Appended to the not-found and ambiguous messages, e.g. " in repo 'web'".
  std::string where = {};
};

// Checks the form of `prefix`: 4 to 64 lowercase hex characters.
// Returns: Ok, or kInvalid "'P' is not a WHAT ID: give at least 4 lowercase
// hex characters of one" (P cut at 80 characters).
Status ValidateIdPrefix(std::string_view prefix, std::string_view what);

// The one ID in `scope` that starts with `prefix`. Needs: a `db` whose schema
// has `scope.table`; the caller owns any transaction. Errors: kInvalid (the
// prefix's form, above); kNotFound "no WHAT matches 'P'WHERE"; kConflict
// when several match (the HTTP API's 409), naming up to 10 of them:
// "WHAT ID 'P' is ambiguous WHERE: it could be A, B; give more characters";
// the database's errors.
Result<std::string> ResolveIdPrefix(Db& db, const IdPrefixScope& scope, std::string_view prefix);

}  // namespace converge

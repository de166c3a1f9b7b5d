#include "store/id_prefix.h"

#include <vector>

#include "base/hex.h"

namespace converge {

namespace {

constexpr size_t kMaxCandidates = 10;

}  // namespace

Status ValidateIdPrefix(std::string_view prefix, std::string_view what) {
  if (prefix.size() < 4 || prefix.size() > 64 || !IsLowerHex(prefix))
    return Invalid("'" + std::string(prefix.substr(0, 80)) + "' is not a " + std::string(what) +
                   " ID: give at least 4 lowercase hex characters of one");
  return Status::Ok();
}

Result<std::string> ResolveIdPrefix(Db& db, const IdPrefixScope& scope, std::string_view prefix) {
  RETURN_IF_ERROR(ValidateIdPrefix(prefix, scope.what));
  // A range scan on the unique index: prefix <= id < prefix + "g". Hex
  // digits sort below 'g' bytewise and in PostgreSQL's usual collations
  // ('~', say, does not sort after them under ICU).
  std::string sql = std::string("SELECT id FROM ") + scope.table + " WHERE ";
  if (scope.filter_column) sql += std::string(scope.filter_column) + " = ? AND ";
  sql += "id >= ? AND id < ? ORDER BY id LIMIT " + std::to_string(kMaxCandidates);
  ASSIGN_OR_RETURN(Stmt q, db.Prepare(sql));
  int i = 1;
  if (scope.filter_column) q.Bind(i++, scope.filter_value);
  q.Bind(i++, prefix);
  q.Bind(i, std::string(prefix) + "g");
  std::vector<std::string> matches;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    matches.push_back(q.Text(0));
  }
  std::string p(prefix);
  if (matches.empty()) return NotFound("no " + std::string(scope.what) + " matches '" + p + "'" + scope.where);
  if (matches.size() == 1) return matches.front();
  std::string list;
  for (const auto& m : matches) list += (list.empty() ? "" : ", ") + m;
  return Conflict(std::string(scope.what) + " ID '" + p + "' is ambiguous" + scope.where +
                  ": it could be " + list + (matches.size() >= kMaxCandidates ? " and more" : "") +
                  "; give more characters");
}

}  // namespace converge

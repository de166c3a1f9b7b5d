#include "store/records/identity.h"

namespace converge {

namespace {

constexpr const char* kUserColumns = "SELECT id, handle, admin, created_at FROM users";

UserRow UserRowFrom(const Stmt& q) {
  return UserRow{q.Int(0), q.Text(1), q.Int(2) != 0, q.Text(3)};
}

Result<std::optional<UserRow>> OneUserRow(Stmt& q) {
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<UserRow>();
  return std::optional<UserRow>(UserRowFrom(q));
}

constexpr const char* kTokenRowColumns =
    "SELECT t.id, t.user_id, u.handle, u.admin, t.secret_hash, t.label, t.created_at, "
    "t.last_used_at, t.expires_at, t.revoked_at, t.parent_id "
    "FROM tokens t JOIN users u ON u.id = t.user_id";

std::optional<std::string> IdentityOptionalText(const Stmt& q, int col) {
  if (q.IsNull(col)) return std::nullopt;
  return q.Text(col);
}

TokenRow TokenRowFrom(const Stmt& q) {
  TokenRow t;
  t.id = q.Text(0);
  t.user_id = q.Int(1);
  t.user_handle = q.Text(2);
  t.user_admin = q.Int(3) != 0;
  t.secret_hash = q.Text(4);
  t.label = q.Text(5);
  t.created_at = q.Text(6);
  t.last_used_at = IdentityOptionalText(q, 7);
  t.expires_at = IdentityOptionalText(q, 8);
  t.revoked_at = IdentityOptionalText(q, 9);
  t.parent_id = IdentityOptionalText(q, 10);
  return t;
}

void IdentityBindOptional(Stmt& q, int idx, const std::optional<std::string>& v) {
  if (v)
    q.Bind(idx, *v);
  else
    q.BindNull(idx);
}

}  // namespace

Result<int64_t> UserRecords::Count() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("SELECT COUNT(*) FROM users"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.Int(0) : int64_t{0};
}

Result<UserRow> UserRecords::Insert(const std::string& handle, bool admin,
                                    const std::string& created_at) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("INSERT INTO users (handle, admin, created_at) "
                                       "VALUES (?, ?, ?) RETURNING id"));
  q.Bind(1, handle).Bind(2, int64_t{admin}).Bind(3, created_at);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Internal("adding user " + handle + " returned no id");
  UserRow u{q.Int(0), handle, admin, created_at};
  RETURN_IF_ERROR(q.Run());
  return u;
}

Result<std::optional<UserRow>> UserRecords::ById(int64_t id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare(std::string(kUserColumns) + " WHERE id = ?"));
  q.Bind(1, id);
  return OneUserRow(q);
}

Result<std::optional<UserRow>> UserRecords::ByHandle(std::string_view handle) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare(std::string(kUserColumns) + " WHERE handle = ?"));
  q.Bind(1, handle);
  return OneUserRow(q);
}

Result<std::vector<UserRow>> UserRecords::List() {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare(std::string(kUserColumns) + " ORDER BY id"));
  std::vector<UserRow> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(UserRowFrom(q));
  }
}

Status TokenRecords::Insert(const TokenRow& t) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("INSERT INTO tokens (id, user_id, secret_hash, label, "
                                       "created_at, expires_at, parent_id) "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  q.Bind(1, t.id).Bind(2, t.user_id).BindBlob(3, t.secret_hash);
  q.Bind(4, t.label).Bind(5, t.created_at);
  IdentityBindOptional(q, 6, t.expires_at);
  IdentityBindOptional(q, 7, t.parent_id);
  return q.Run();
}

Result<std::optional<TokenRow>> TokenRecords::ById(std::string_view id) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare(std::string(kTokenRowColumns) + " WHERE t.id = ?"));
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<TokenRow>();
  return std::optional<TokenRow>(TokenRowFrom(q));
}

Result<std::vector<TokenRow>> TokenRecords::List(const std::optional<std::string>& handle) {
  std::string sql = std::string(kTokenRowColumns) + (handle ? " WHERE u.handle = ?" : "") +
                    " ORDER BY t.created_at, t.id";
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare(sql));
  if (handle) q.Bind(1, *handle);
  std::vector<TokenRow> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(TokenRowFrom(q));
  }
}

Status TokenRecords::Touch(std::string_view id, const std::string& at) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?"));
  return q.Bind(1, at).Bind(2, id).Run();
}

Status TokenRecords::Revoke(std::string_view id, const std::string& at) {
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("UPDATE tokens SET revoked_at = ? "
                                       "WHERE id = ? AND revoked_at IS NULL"));
  return q.Bind(1, at).Bind(2, id).Run();
}

Result<int64_t> TokenRecords::RevokeBoundTo(std::string_view id, const std::string& at) {
  // The placeholders in the order they appear: the parent, then the time.
  ASSIGN_OR_RETURN(Stmt q, db_.Prepare("WITH RECURSIVE bound(id) AS ("
                                       "SELECT id FROM tokens WHERE parent_id = ? "
                                       "UNION SELECT t.id FROM tokens t "
                                       "JOIN bound b ON t.parent_id = b.id) "
                                       "UPDATE tokens SET revoked_at = ? "
                                       "WHERE id IN (SELECT id FROM bound) "
                                       "AND revoked_at IS NULL RETURNING id"));
  q.Bind(1, id).Bind(2, at);
  int64_t n = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return n;
    ++n;
  }
}

}  // namespace converge

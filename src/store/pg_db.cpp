#include "store/pg_db.h"

#include <cstdlib>
#include <cstring>

#include "base/hex.h"
#include "store/libpq.h"

namespace converge {

namespace {

constexpr unsigned kByteaOid = 17;

void PgQuietNotices(void*, const char*) {}  // CREATE ... IF NOT EXISTS says "skipping"

std::string PgTrimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string PgNumberPlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (size_t i = 0; i < sql.size(); i++) {
    char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or quoted name: copy to its end ('' and "" escape)
      size_t end = sql.find(c, i + 1);
      while (end != std::string_view::npos && end + 1 < sql.size() && sql[end + 1] == c)
        end = sql.find(c, end + 2);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() &&
               sql[i + 1] == '-') {  // a comment to the line's end
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '?') {
      out += '$' + std::to_string(++n);
    } else {
      out += c;
    }
  }
  *count = n;
  return out;
}

std::string PgRedactUrl(std::string_view url) {
  std::string s(url);
  // URI form: scheme://user:password@host...
  size_t scheme = s.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t at = s.find('@', start);
    size_t slash = s.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      size_t colon = s.find(':', start);
      if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... as a URI parameter (&password=) or a key=value word.
  for (size_t p = s.find("password="); p != std::string::npos; p = s.find("password=", p + 1)) {
    size_t v = p + 9;
    size_t end = s.find_first_of("& ", v);
    if (end == std::string::npos) end = s.size();
    s.replace(v, end - v, "***");
  }
  return s;
}

namespace {

// `options` (libpq's: command-line switches for the server) with a
// `-c name=value` for each default it does not set already.
std::string PgSessionOptions(std::string options) {
  const std::pair<const char*, std::string> defaults[] = {
      {"idle_in_transaction_session_timeout", kPgIdleInTransactionTimeout},
      {"tcp_keepalives_idle", std::to_string(kPgKeepaliveIdle)},
      {"tcp_keepalives_interval", std::to_string(kPgKeepaliveInterval)},
      {"tcp_keepalives_count", std::to_string(kPgKeepaliveCount)},
  };
  for (const auto& [name, value] : defaults) {
    // Both spellings PostgreSQL accepts: -c name=v and --name=v (and - for _).
    std::string dashed = name;
    for (char& ch : dashed)
      if (ch == '_') ch = '-';
    if (options.find(name) != std::string::npos || options.find(dashed) != std::string::npos)
      continue;
    options += (options.empty() ? "" : " ") + std::string("-c ") + name + "=" + value;
  }
  return options;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> PgConnectParams(const std::string& url) {
  RETURN_IF_ERROR(LoadLibPq());
  char* err = nullptr;
  PQconninfoOption* parsed = Pq().PQconninfoParse(url.c_str(), &err);
  if (!parsed) {
    std::string why = PgTrimmed(err ? err : "out of memory");
    Pq().PQfreemem(err);
    return Invalid("the database URL " + PgRedactUrl(url) +
                   " is not a libpq connection string: " + why);
  }
  std::vector<std::pair<std::string, std::string>> params;
  std::string options;
  for (PQconninfoOption* o = parsed; o->keyword; o++) {
    if (!o->val) continue;
    if (std::strcmp(o->keyword, "options") == 0)
      options = o->val;
    else
      params.emplace_back(o->keyword, o->val);
  }
  Pq().PQconninfoFree(parsed);
  auto given = [&](const char* key) {
    for (const auto& [k, v] : params)
      if (k == key) return true;
    return false;
  };
  const std::pair<const char*, std::string> defaults[] = {
      {"connect_timeout", std::to_string(kPgConnectTimeout)},
      {"keepalives", "1"},
      {"keepalives_idle", std::to_string(kPgKeepaliveIdle)},
      {"keepalives_interval", std::to_string(kPgKeepaliveInterval)},
      {"keepalives_count", std::to_string(kPgKeepaliveCount)},
      {"application_name", kPgApplicationName},
  };
  for (const auto& [key, value] : defaults)
    if (!given(key)) params.emplace_back(key, value);
  params.emplace_back("options", PgSessionOptions(std::move(options)));
  return params;
}

PgConn::~PgConn() {
  Pq().PQfinish(conn_);
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& url) {
  ASSIGN_OR_RETURN(auto params, PgConnectParams(url));
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  // expand_dbname 0: the URL was parsed above, a dbname is only a name now.
  PGconn* c = Pq().PQconnectdbParams(keys.data(), values.data(), 0);
  std::unique_ptr<PgConn> conn(new PgConn(c));
  if (!c || Pq().PQstatus(c) != CONNECTION_OK)
    return IoError("connect to PostgreSQL at " + PgRedactUrl(url) + ": " +
                   PgTrimmed(c ? Pq().PQerrorMessage(c) : "out of memory") +
                   "; check that the server runs and the URL (--db) names it");
  Pq().PQsetNoticeProcessor(c, PgQuietNotices, nullptr);
  return conn;
}

std::string PgConn::Where() const {
  const char* host = Pq().PQhost(conn_);
  return std::string(host ? host : "") + ":" + (Pq().PQport(conn_) ? Pq().PQport(conn_) : "") + "/" +
         (Pq().PQdb(conn_) ? Pq().PQdb(conn_) : "");
}

Status PgConn::ErrorOf(const PGresult* res, const std::string& what) const {
  std::string msg = PgTrimmed(res ? Pq().PQresultErrorMessage(res) : Pq().PQerrorMessage(conn_));
  const char* state = res ? Pq().PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string code = state ? state : "";
  if (code.rfind("23", 0) == 0) return Conflict("database constraint: " + msg);
  if (code == "53100")
    return IoError("database: the disk is full (PostgreSQL 53100); free some space and try again");
  if (code == "40001" || code == "40P01")
    return IoError("database: the transaction was cancelled by a concurrent one (" + msg +
                   "); try again");
  if (Pq().PQstatus(conn_) != CONNECTION_OK)
    return IoError("database at " + Where() + ": the connection is lost: " + msg);
  return IoError("database: " + what + ": " + msg);
}

void PgConn::set_changes(const PGresult* res) {
  const char* n = Pq().PQcmdTuples(const_cast<PGresult*>(res));
  changes_ = n && *n ? std::atoi(n) : 0;
}

Status PgConn::Ready() {
  if (Pq().PQstatus(conn_) == CONNECTION_OK) return Status::Ok();
  if (in_tx_)
    return IoError("database at " + Where() +
                   ": the connection was lost in a transaction, which is rolled back");
  Pq().PQreset(conn_);
  prepared_.clear();  // they went with the old session
  if (Pq().PQstatus(conn_) != CONNECTION_OK)
    return IoError("database at " + Where() + ": the connection is lost and reconnecting failed: " +
                   PgTrimmed(Pq().PQerrorMessage(conn_)));
  return Status::Ok();
}

Status PgConn::Exec(std::string_view sql) {
  std::string text(sql);
  bool begin = text.rfind("BEGIN", 0) == 0;
  if (text == "COMMIT" || text == "ROLLBACK") {
    in_tx_ = false;
    if (Pq().PQstatus(conn_) != CONNECTION_OK)  // the server ended the transaction with the connection
      return text == "ROLLBACK"
                 ? Status::Ok()
                 : IoError("database at " + Where() +
                           ": the connection was lost: the transaction is rolled back");
    return Run(text);
  }
  RETURN_IF_ERROR(Ready());
  Status out = Run(text);
  if (!out.ok() && begin && Pq().PQstatus(conn_) != CONNECTION_OK) {  // lost while idle: retry once
    RETURN_IF_ERROR(Ready());
    out = Run(text);
  }
  if (begin && !out.ok() && Pq().PQtransactionStatus(conn_) != PQTRANS_IDLE)
    (void)Run("ROLLBACK");  // BEGIN went through but what followed it did not
  if (begin && out.ok()) in_tx_ = true;
  return out;
}

Status PgConn::Run(const std::string& text) {
  PGresult* res = Pq().PQexec(conn_, text.c_str());
  ExecStatusType st = Pq().PQresultStatus(res);
  Status out = Status::Ok();
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    out = ErrorOf(res, text.substr(0, 80));
  } else if (text == "COMMIT" && std::strcmp(Pq().PQcmdStatus(res), "ROLLBACK") == 0) {
    // A statement failed earlier: PostgreSQL then ends the transaction here.
    out = IoError("database: the transaction was rolled back: a statement in it failed");
  } else {
    set_changes(res);
  }
  Pq().PQclear(res);
  return out;
}

Result<std::pair<std::string, int>> PgConn::Prepared(std::string_view sql) {
  RETURN_IF_ERROR(Ready());
  std::string key(sql);
  auto it = prepared_.find(key);
  if (it != prepared_.end()) return it->second;
  int count = 0;
  std::string numbered = PgNumberPlaceholders(sql, &count);
  std::string name = "c" + std::to_string(prepared_.size() + 1);
  PGresult* res = Pq().PQprepare(conn_, name.c_str(), numbered.c_str(), 0, nullptr);
  bool ok = Pq().PQresultStatus(res) == PGRES_COMMAND_OK;
  Status err = ok ? Status::Ok() : ErrorOf(res, "prepare '" + key + "'");
  Pq().PQclear(res);
  if (!ok) return err;
  return prepared_[key] = {name, count};
}

PgStmt::PgStmt(std::shared_ptr<PgConn> conn, std::string sql, int params)
    : conn_(std::move(conn)), sql_(std::move(sql)), values_(params), binary_(params, 0) {}

PgStmt::~PgStmt() {
  Pq().PQclear(res_);
}

void PgStmt::Bind(int idx, std::string value, bool binary) {
  if (idx < 1 || idx > static_cast<int>(values_.size())) return;  // as SQLite: out of range
  values_[idx - 1] = std::move(value);
  binary_[idx - 1] = binary ? 1 : 0;
}

void PgStmt::BindNull(int idx) {
  if (idx < 1 || idx > static_cast<int>(values_.size())) return;
  values_[idx - 1].reset();
}

Result<bool> PgStmt::Step() {
  if (!res_) {
    // By its SQL, not a name: a reconnect since Prepare prepares it anew.
    ASSIGN_OR_RETURN(auto named, conn_->Prepared(sql_));
    size_t n = values_.size();
    std::vector<const char*> vals(n);
    std::vector<int> lens(n);
    for (size_t i = 0; i < n; i++) {
      vals[i] = values_[i] ? values_[i]->data() : nullptr;
      lens[i] = values_[i] ? static_cast<int>(values_[i]->size()) : 0;
    }
    res_ = Pq().PQexecPrepared(conn_->raw(), named.first.c_str(), static_cast<int>(n), vals.data(),
                          lens.data(), binary_.data(), 0);
    ExecStatusType st = Pq().PQresultStatus(res_);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      Status err = conn_->ErrorOf(res_, "run '" + sql_ + "'");
      Pq().PQclear(res_);
      res_ = nullptr;
      return err;
    }
    conn_->set_changes(res_);
    row_ = 0;
  } else if (row_ < Pq().PQntuples(res_)) {
    row_++;
  }
  return row_ < Pq().PQntuples(res_);
}

void PgStmt::Reset() {
  Pq().PQclear(res_);
  res_ = nullptr;
  row_ = -1;
  for (auto& v : values_) v.reset();
}

int64_t PgStmt::Int(int col) const {
  if (!res_ || Pq().PQgetisnull(res_, row_, col)) return 0;
  return std::strtoll(Pq().PQgetvalue(res_, row_, col), nullptr, 10);
}

std::string PgStmt::Text(int col) const {
  if (!res_ || Pq().PQgetisnull(res_, row_, col)) return "";
  const char* v = Pq().PQgetvalue(res_, row_, col);
  std::string s(v, static_cast<size_t>(Pq().PQgetlength(res_, row_, col)));
  // BYTEA comes back in text form as \x and hex digits: give the bytes, as
  // SQLite gives a BLOB's.
  if (Pq().PQftype(res_, col) == kByteaOid && s.rfind("\\x", 0) == 0) {
    std::string bytes((s.size() - 2) / 2, '\0');
    if (FromHex(std::string_view(s).substr(2), reinterpret_cast<unsigned char*>(bytes.data()),
                bytes.size()))
      return bytes;
  }
  return s;
}

bool PgStmt::IsNull(int col) const {
  return !res_ || Pq().PQgetisnull(res_, row_, col);
}

}  // namespace converge

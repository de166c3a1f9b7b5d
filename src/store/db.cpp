#include "store/db.h"

#include <cerrno>
#include <utility>

#include "base/hex.h"
#include "store/pg_db.h"
#include "store/schema.h"

namespace converge {

namespace {
constexpr size_t kIdlePerSql = 4;

// converge_unhex(text): the bytes that lowercase hex text spells, or NULL for
// anything else (SQLite 3.40 has no unhex()). Server migration 7 decodes the
// stored object IDs with it, row by row inside its one statement, so memory
// stays flat however many rows there are.
void SqlUnhex(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) return sqlite3_result_null(ctx);
  const unsigned char* text = sqlite3_value_text(argv[0]);
  int len = sqlite3_value_bytes(argv[0]);
  if (!text || len % 2 != 0) return sqlite3_result_null(ctx);
  std::string bytes(static_cast<size_t>(len / 2), '\0');
  if (!FromHex(std::string_view(reinterpret_cast<const char*>(text), static_cast<size_t>(len)),
               reinterpret_cast<unsigned char*>(bytes.data()), bytes.size()))
    return sqlite3_result_null(ctx);
  sqlite3_result_blob(ctx, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

// A statement that changes many rows with foreign keys on keeps a statement
// journal, in memory only up to SQLite's default of 64 KiB: past that it goes
// to an unlinked file in /var/tmp. A publish's batched object inserts passed
// it (hundreds of writes to such a file per pack), and a server should not
// need /var/tmp to be writable and not full: journals stay in memory (one per
// connection at a time, dropped at the statement's end). A journal holds the
// pages its statement changes, and every statement here changes a batch's
// worth (ObjectRecords::kBatch rows) but the migrations', which Migrate keeps
// small too (secure_delete off). Not a threshold past 128 KiB instead: SQLite
// spills a journal in chunks of the threshold's size and its unix VFS writes
// at most 128 KiB a call, so with 8 MiB a journal past 8 MiB failed with
// SQLITE_FULL (a migration of a million objects did). The setting is
// process-wide and only takes before SQLite's first use, so it is made
// before main.
[[maybe_unused]] const int kJournalsInMemory = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);

}  // namespace

StmtCache::~StmtCache() {
  for (auto& [sql, stmts] : idle_)
    for (sqlite3_stmt* s : stmts) sqlite3_finalize(s);
}

sqlite3_stmt* StmtCache::Take(const std::string& sql) {
  auto it = idle_.find(sql);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  sqlite3_stmt* s = it->second.back();
  it->second.pop_back();
  return s;
}

void StmtCache::Give(const std::string& sql, sqlite3_stmt* s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  std::vector<sqlite3_stmt*>& stmts = idle_[sql];
  if (stmts.size() >= kIdlePerSql) {
    sqlite3_finalize(s);
    return;
  }
  stmts.push_back(s);
}

Stmt::Stmt(sqlite3* db, sqlite3_stmt* s, std::shared_ptr<StmtCache> cache, std::string sql)
    : db_(db), s_(s), cache_(std::move(cache)), sql_(std::move(sql)) {}

Stmt::Stmt(std::unique_ptr<PgStmt> pg) : pg_(std::move(pg)) {}

Stmt::Stmt(Stmt&& o) noexcept
    : db_(o.db_),
      s_(std::exchange(o.s_, nullptr)),
      cache_(std::move(o.cache_)),
      sql_(std::move(o.sql_)),
      pg_(std::move(o.pg_)) {}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    Release();
    db_ = o.db_;
    s_ = std::exchange(o.s_, nullptr);
    cache_ = std::move(o.cache_);
    sql_ = std::move(o.sql_);
    pg_ = std::move(o.pg_);
  }
  return *this;
}

Stmt::~Stmt() {
  Release();
}

void Stmt::Release() {
  if (!s_) return;
  if (cache_)
    cache_->Give(sql_, s_);
  else
    sqlite3_finalize(s_);
  s_ = nullptr;
}

Stmt& Stmt::Bind(int idx, int64_t v) {
  if (pg_) {
    pg_->Bind(idx, std::to_string(v), false);
    return *this;
  }
  sqlite3_bind_int64(s_, idx, v);
  return *this;
}

Stmt& Stmt::Bind(int idx, std::string_view v) {
  if (pg_) {
    pg_->Bind(idx, std::string(v), false);
    return *this;
  }
  sqlite3_bind_text(s_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::BindBlob(int idx, std::string_view v) {
  if (pg_) {
    pg_->Bind(idx, std::string(v), true);
    return *this;
  }
  sqlite3_bind_blob(s_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::BindNull(int idx) {
  if (pg_) {
    pg_->BindNull(idx);
    return *this;
  }
  sqlite3_bind_null(s_, idx);
  return *this;
}

Result<bool> Stmt::Step() {
  if (pg_) return pg_->Step();
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string msg = sqlite3_errmsg(db_);
  if (rc == SQLITE_CONSTRAINT) return Conflict("database constraint: " + msg);
  if (rc == SQLITE_FULL)
    return IoError("database: the disk is full (SQLITE_FULL); free some space and try again");
  if (rc == SQLITE_BUSY) return IoError("database is locked by another process: " + msg);
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return Corrupt("database is corrupt: " + msg);
  return IoError("database: " + msg);
}

Status Stmt::Run() {
  for (;;) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

void Stmt::Reset() {
  if (pg_) return pg_->Reset();
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

int64_t Stmt::Int(int col) const {
  if (pg_) return pg_->Int(col);
  return sqlite3_column_int64(s_, col);
}

std::string Stmt::Text(int col) const {
  if (pg_) return pg_->Text(col);
  const unsigned char* t = sqlite3_column_text(s_, col);
  if (!t) return "";
  return std::string(reinterpret_cast<const char*>(t),
                     static_cast<size_t>(sqlite3_column_bytes(s_, col)));
}

std::string Stmt::Blob(int col) const {
  if (pg_) return pg_->Text(col);  // BYTEA arrives as its bytes (PgStmt::Text)
  const void* b = sqlite3_column_blob(s_, col);
  if (!b) return "";
  return std::string(static_cast<const char*>(b),
                     static_cast<size_t>(sqlite3_column_bytes(s_, col)));
}

bool Stmt::IsNull(int col) const {
  if (pg_) return pg_->IsNull(col);
  return sqlite3_column_type(s_, col) == SQLITE_NULL;
}

void Db::SetWalHook(void (*hook)(void* arg, Db& db, int frames), void* arg) {
  if (!db_) return;
  // The C callback carries the caller's hook and argument in one block
  // that lives as long as this connection.
  wal_hook_ = std::make_unique<WalHook>(WalHook{hook, arg, this});
  sqlite3_wal_hook(
      db_.get(),
      [](void* h, sqlite3*, const char*, int frames) {
        auto* w = static_cast<WalHook*>(h);
        w->hook(w->arg, *w->db, frames);
        return SQLITE_OK;
      },
      wal_hook_.get());
}

Status Db::Checkpoint() {
  if (!db_) return Status::Ok();
  int rc =
      sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) return Error("checkpoint '" + path_.string() + "'");
  return Status::Ok();
}

Status Db::Error(const std::string& what) const {
  return IoError(what + ": " + sqlite3_errmsg(db_.get()));
}

Result<Db> Db::Open(const fs::path& path, DbRole role) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw, path);
  if (rc != SQLITE_OK) return db.Error("open database '" + path.string() + "'");
  sqlite3_busy_timeout(raw, 30000);
  sqlite3_extended_result_codes(raw, 0);
  // The server answers "stored" only once a commit survives power loss; a
  // workspace can afford NORMAL, which in WAL mode still never corrupts.
  const char* sync =
      role == DbRole::kServer ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(db.Exec(sync));
  RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys=ON"));
  // Lookups read pages through a shared mapping instead of copying each into
  // every connection's private 2 MiB cache: the object index outgrows that.
  // The mapped pages are clean page cache, yet count in the server's VmHWM.
  // 256 MiB stays (bench/RESULTS.md, "Binary object IDs"): at 100,000
  // objects the database is 10 MB, under any cap; at 1,000,000 (95 MB since
  // schema 7) a 64 MiB cap saved 17-35 MiB of VmHWM, cost nothing on a
  // compact file, but doubled the lookups' time on a migrated one, whose
  // live pages lie past the old tables' freed ones.
  RETURN_IF_ERROR(db.Exec("PRAGMA mmap_size=268435456"));
  if (sqlite3_create_function(raw, "converge_unhex", 1,
                              SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                              SqlUnhex, nullptr, nullptr) != SQLITE_OK)
    return db.Error("register converge_unhex on '" + path.string() + "'");
  RETURN_IF_ERROR(db.Migrate(role));
  return db;
}

Result<Db> Db::OpenReadOnly(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound("database '" + path.string() + "' does not exist");
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw, path);
  if (rc != SQLITE_OK) return db.Error("open database '" + path.string() + "'");
  sqlite3_busy_timeout(raw, 30000);
  sqlite3_extended_result_codes(raw, 0);
  return db;
}

Status Db::Exec(std::string_view sql) {
  if (pg_) return pg_->Exec(sql);
  char* err = nullptr;
  std::string s(sql);
  int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  if (rc == SQLITE_FULL)
    return IoError("database: the disk is full (SQLITE_FULL); free some space and try again");
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
    return Corrupt("database '" + path_.string() + "' is corrupt: " + msg);
  return IoError("database '" + path_.string() + "': " + msg);
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  if (pg_) {
    ASSIGN_OR_RETURN(auto named, pg_->Prepared(sql));
    return Stmt(std::make_unique<PgStmt>(pg_, std::string(sql), named.second));
  }
  std::string text(sql);
  if (sqlite3_stmt* cached = cache_->Take(text)) return Stmt(db_.get(), cached, cache_, text);
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return Error("prepare '" + text + "'");
  return Stmt(db_.get(), s, cache_, std::move(text));
}

int64_t Db::LastInsertRowId() const {
  if (pg_) return 0;
  return sqlite3_last_insert_rowid(db_.get());
}
int Db::Changes() const {
  if (pg_) return pg_->changes();
  return sqlite3_changes(db_.get());
}

Result<Db::Tx> Db::BeginWrite() {
  if (pg_) {
    RETURN_IF_ERROR(Exec("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(" +
                         std::to_string(kPgWriteLock) + ")"));
    return Tx(this);
  }
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  return Tx(this);
}

Result<Db::Tx> Db::BeginRead() {
  RETURN_IF_ERROR(Exec(pg_ ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"));
  return Tx(this);
}

Db::Tx::~Tx() {
  if (db_) (void)db_->Exec("ROLLBACK");
}

Status Db::Tx::Commit() {
  Db* db = db_;
  db_ = nullptr;
  Status st = db->Exec("COMMIT");
  if (!st.ok()) (void)db->Exec("ROLLBACK");
  return st;
}

Status Db::Migrate(DbRole role) {
  int count = 0;
  const char* const* migrations = Migrations(role, &count);
  ASSIGN_OR_RETURN(Tx tx, BeginWrite());
  ASSIGN_OR_RETURN(Stmt q, Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  int have = row ? static_cast<int>(q.Int(0)) : 0;
  q = Stmt();
  if (have > count)
    return Conflict("database '" + path_.string() + "' has schema version " + std::to_string(have) +
                    ", newer than this converge understands (" + std::to_string(count) +
                    "): upgrade converge");
  if (have < count) {
    // A migration that rewrites a table drops the old copy: with Debian's
    // default secure_delete every page it frees would be zeroed, written
    // and journaled (for a million objects, ~100 MB), to hide rows the new
    // copy holds anyway.
    ASSIGN_OR_RETURN(Stmt secure, Prepare("PRAGMA secure_delete"));
    ASSIGN_OR_RETURN(bool known, secure.Step());
    std::string restore = known && secure.Int(0) ? "PRAGMA secure_delete=ON" : "";
    secure = Stmt();
    RETURN_IF_ERROR(Exec("PRAGMA secure_delete=OFF"));
    for (int v = have; v < count; v++) RETURN_IF_ERROR(Exec(migrations[v]));
    if (!restore.empty()) RETURN_IF_ERROR(Exec(restore));
    RETURN_IF_ERROR(Exec("PRAGMA user_version=" + std::to_string(count)));
  }
  RETURN_IF_ERROR(MakeQueryIndexes(role));
  return tx.Commit();
}

Status Db::MakeQueryIndexes(DbRole role) {
  int count = 0;
  const char* const* indexes = QueryIndexes(role, &count);
  for (int i = 0; i < count; i++) RETURN_IF_ERROR(Exec(indexes[i]));
  return Status::Ok();
}

Result<Db> Db::Connect(const std::string& url, DbRole role) {
  if (role != DbRole::kServer)
    return Invalid("a workspace's database is SQLite only; PostgreSQL holds a server's");
  ASSIGN_OR_RETURN(Db db, ConnectExisting(url));
  RETURN_IF_ERROR(db.MigratePostgres());
  return db;
}

Result<Db> Db::ConnectExisting(const std::string& url) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(url));
  return Db(std::shared_ptr<PgConn>(std::move(conn)), PgRedactUrl(url));
}

std::string RedactDbUrl(std::string_view url) { return PgRedactUrl(url); }

Result<int> Db::StoredSchemaVersion() {
  if (!pg_) {
    ASSIGN_OR_RETURN(Stmt q, Prepare("PRAGMA user_version"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    return row ? static_cast<int>(q.Int(0)) : 0;
  }
  // to_regclass is NULL for a database converge never migrated: no error,
  // which would abort a surrounding transaction.
  ASSIGN_OR_RETURN(Stmt t, Prepare("SELECT CASE WHEN to_regclass('converge_schema') IS NULL THEN 0 ELSE 1 END"));
  ASSIGN_OR_RETURN(bool row, t.Step());
  if (!row || t.Int(0) == 0) return 0;
  ASSIGN_OR_RETURN(Stmt q, Prepare("SELECT version FROM converge_schema WHERE role = 'server'"));
  ASSIGN_OR_RETURN(row, q.Step());
  return row ? static_cast<int>(q.Int(0)) : 0;
}

// The version lives in converge_schema (PostgreSQL has no user_version). The
// transaction-level advisory lock makes a second node starting at once wait
// here and then find the schema made; DDL is transactional, so a failed
// migration leaves the previous version whole.
Status Db::MigratePostgres() {
  int count = 0;
  const char* const* migrations = PgMigrations(&count);
  RETURN_IF_ERROR(
      Exec("BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kPgMigrateLock) + ")"));
  Tx tx(this);
  RETURN_IF_ERROR(
      Exec("CREATE TABLE IF NOT EXISTS converge_schema (role TEXT PRIMARY KEY, "
           "version INTEGER NOT NULL)"));
  ASSIGN_OR_RETURN(Stmt q, Prepare("SELECT version FROM converge_schema WHERE role = 'server'"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  int have = row ? static_cast<int>(q.Int(0)) : 0;
  q = Stmt();
  if (have > count)
    return Conflict("database " + pg_->Where() + " has schema version " + std::to_string(have) +
                    ", newer than this converge understands (" + std::to_string(count) +
                    "): upgrade converge");
  for (int v = have; v < count; v++) RETURN_IF_ERROR(Exec(migrations[v]));
  if (have != count) {
    ASSIGN_OR_RETURN(Stmt set, Prepare("INSERT INTO converge_schema (role, version) VALUES "
                                       "('server', ?) ON CONFLICT (role) DO UPDATE SET "
                                       "version = excluded.version"));
    RETURN_IF_ERROR(set.Bind(1, int64_t{count}).Run());
  }
  RETURN_IF_ERROR(MakeQueryIndexes(DbRole::kServer));
  return tx.Commit();
}

int SchemaVersion(DbRole role) {
  int count = 0;
  Migrations(role, &count);
  return count;
}

}  // namespace converge

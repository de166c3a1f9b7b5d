#include "store/db_copy.h"

namespace converge {

namespace {

enum class ColumnType { kInteger, kText, kBlob };

struct Column {
  std::string name;
  ColumnType type;
};

struct SourceTable {
  std::string name;
  bool has_rowid;
};

// The source's tables in the order they were created (sqlite_master's own).
Result<std::vector<SourceTable>> SourceTables(Db& from) {
  ASSIGN_OR_RETURN(Stmt q, from.Prepare("SELECT name, sql FROM sqlite_master WHERE type = "
                                        "'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"));
  std::vector<SourceTable> tables;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return tables;
    tables.push_back({q.Text(0), q.Text(1).find("WITHOUT ROWID") == std::string::npos});
  }
}

Result<std::vector<Column>> Columns(Db& from, const std::string& table) {
  ASSIGN_OR_RETURN(Stmt q, from.Prepare("PRAGMA table_info(\"" + table + "\")"));
  std::vector<Column> cols;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return cols;
    std::string type = q.Text(2);
    ColumnType t = type.find("INT") != std::string::npos    ? ColumnType::kInteger
                   : type.find("BLOB") != std::string::npos ? ColumnType::kBlob
                                                            : ColumnType::kText;
    cols.push_back({q.Text(1), t});
  }
}

std::string Join(const std::vector<Column>& cols, const std::string& each) {
  std::string s;
  for (const Column& c : cols) {
    if (!s.empty()) s += ", ";
    s += each.empty() ? "\"" + c.name + "\"" : each;
  }
  return s;
}

Result<int64_t> CopyTable(Db& from, Db& to, const SourceTable& t) {
  ASSIGN_OR_RETURN(std::vector<Column> cols, Columns(from, t.name));
  std::string names = Join(cols, "");
  ASSIGN_OR_RETURN(Stmt read, from.Prepare("SELECT " + names + " FROM \"" + t.name + "\"" +
                                           (t.has_rowid ? " ORDER BY rowid" : "")));
  ASSIGN_OR_RETURN(Stmt write, to.Prepare("INSERT INTO \"" + t.name + "\" (" + names +
                                          ") VALUES (" + Join(cols, "?") + ")"));
  int64_t rows = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) return rows;
    for (int i = 0; i < static_cast<int>(cols.size()); i++) {
      if (read.IsNull(i)) {
        write.BindNull(i + 1);
      } else if (cols[i].type == ColumnType::kInteger) {
        write.Bind(i + 1, read.Int(i));
      } else if (cols[i].type == ColumnType::kBlob) {
        write.BindBlob(i + 1, read.Text(i));
      } else {
        write.Bind(i + 1, read.Text(i));
      }
    }
    Status st = write.Run();
    if (!st.ok()) return st.With("copying a row of table " + t.name);
    write.Reset();
    rows++;
  }
}

// Moves an identity column's sequence past the copied values.
Status AdvanceSequences(Db& to, const SourceTable& t, const std::vector<Column>& cols) {
  for (const Column& c : cols) {
    ASSIGN_OR_RETURN(Stmt seq, to.Prepare("SELECT COALESCE(pg_get_serial_sequence(?, ?), '')"));
    seq.Bind(1, "\"" + t.name + "\"").Bind(2, c.name);
    ASSIGN_OR_RETURN(bool row, seq.Step());
    std::string name = row ? seq.Text(0) : "";
    if (name.empty()) continue;
    ASSIGN_OR_RETURN(Stmt set, to.Prepare("SELECT setval(?, COALESCE((SELECT MAX(\"" + c.name +
                                          "\") FROM \"" + t.name + "\"), 0) + 1, false)"));
    RETURN_IF_ERROR(set.Bind(1, name).Step().status());
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> CopiedTableNames(Db& from) {
  ASSIGN_OR_RETURN(std::vector<SourceTable> tables, SourceTables(from));
  std::vector<std::string> names;
  for (const SourceTable& t : tables) names.push_back(t.name);
  return names;
}

Result<int64_t> CountRows(Db& db, const std::string& table) {
  ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT COUNT(*) FROM \"" + table + "\""));
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.Int(0) : 0;
}

Result<std::vector<TableCopy>> CopyServerTables(Db& from, Db& to) {
  if (from.engine() != DbEngine::kSqlite || to.engine() != DbEngine::kPostgres)
    return Invalid("an import copies a SQLite server database into a PostgreSQL one");
  ASSIGN_OR_RETURN(std::vector<SourceTable> tables, SourceTables(from));
  std::vector<TableCopy> copied;
  for (const SourceTable& t : tables) {
    ASSIGN_OR_RETURN(int64_t rows, CopyTable(from, to, t));
    ASSIGN_OR_RETURN(std::vector<Column> cols, Columns(from, t.name));
    RETURN_IF_ERROR(AdvanceSequences(to, t, cols));
    copied.push_back({t.name, rows});
  }
  return copied;
}

}  // namespace converge

// Copies a server database from SQLite into an empty PostgreSQL one: the
// engine work of `converge serve --import-sqlite` (server/import.h adds the
// locking and the audit checks around it).
//
// Every table of the source (except SQLite's own) is copied whole, in the
// order the migrations created them, rows in their insertion order, so each
// foreign key finds its target already there (a bound token's parent comes
// before it). Values keep their declared types: INTEGER, TEXT, BLOB, NULL.
// The identity columns' sequences are moved past the copied IDs, so the next
// user, repo, publication or audit row gets a fresh one. The caller owns the
// transaction on `to` (one write transaction: a failure copies nothing).
// Rows stream one at a time: memory stays flat however large the log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/db.h"

namespace converge {

struct TableCopy {
  std::string table;
  int64_t rows = 0;
};

// Copies every table; returns each table's row count. kInvalid unless `from`
// is SQLite and `to` PostgreSQL; the engines' errors otherwise (a column the
// target lacks names the table).
Result<std::vector<TableCopy>> CopyServerTables(Db& from, Db& to);

// The tables CopyServerTables copies, in its order.
Result<std::vector<std::string>> CopiedTableNames(Db& from);

// How many rows `table` holds (for checking a copy, or that a target is empty).
Result<int64_t> CountRows(Db& db, const std::string& table);

}  // namespace converge

// Verifying the audit log: every row's hash recomputed from its content, every
// link from a row to the one before it, the newest row against the signed
// head, and the head's signature against a trusted public key. Shared by
// `converge audit --verify` (rows from the API) and `converge serve
// --verify-audit` (rows from SQLite): both feed rows newest first, one at a
// time, so memory stays flat however long the log is.
#pragma once

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/fs.h"
#include "api/wire.h"
#include "server/audit_key.h"
#include "store/db.h"

namespace converge {

// A row this reader verified before: the log must still hold it unchanged.
struct AuditCheckpoint {
  int64_t seq = 0;
  std::string hash;
};

struct AuditProblem {
  int64_t seq = 0;      // the first row it concerns (head.seq + 1: past the end)
  std::string message;  // one line, naming the row
};

struct AuditVerdict {
  int64_t rows_checked = 0;
  wire::AuditHead head;
  std::string fingerprint;             // of the key the head was checked against
  std::vector<AuditProblem> problems;  // earliest first; at most kMaxProblems
  int64_t problem_count = 0;           // all of them
  bool ok() const { return problem_count == 0; }

  static constexpr size_t kMaxProblems = 20;
};

// The one audit-chain checker: fed rows, it never fails; what it finds is
// in the verdict. Needs no database, so the client (rows from the API) and
// the server (rows from SQLite) run the same checks.
class AuditChainVerifier {
 public:
  // `head` as the server signed it; `key` the one the reader trusts;
  // `seen` a row from an earlier successful verification, if any. Checks the
  // head's signature (and that it is not behind `seen`) at once.
  AuditChainVerifier(wire::AuditHead head, const AuditPublicKey& key,
                     std::optional<AuditCheckpoint> seen);

  const wire::AuditHead& head() const { return verdict_.head; }
  // Feed rows with seq <= head().seq, newest first: each row's hash against
  // its content and against the link from the row after it, gaps, rows out
  // of order, and `seen` still there unchanged.
  void Add(const wire::AuditEntry& e);
  // Once, after the last row (seq 1, or wherever the log ends): rows missing
  // below it, and row 1 starting from kAuditGenesis. Problems earliest first.
  AuditVerdict Finish();

 private:
  void Problem(int64_t seq, std::string message);

  AuditVerdict verdict_;
  std::optional<AuditCheckpoint> seen_;
  std::deque<AuditProblem> problems_;  // newest first while feeding
  int64_t expect_seq_;                 // the next row that should come
  std::string expect_hash_;            // and the hash it should have
  bool first_ = true;
};

// "audit row 17 (token.create by alice at 2026-...)".
std::string DescribeAuditRow(const wire::AuditEntry& e);

nlohmann::json ToJson(const AuditVerdict& v);

// The data dir's own public key: DATA/audit-key.pub, else the key pair's.
// Errors: kNotFound (or the file's error) when the data dir has neither,
// saying so.
Result<AuditPublicKey> DataDirAuditKey(const fs::path& dir);

// The checks above on the log in `db` (a server database), against `key`:
// the signed head, then every row it covers. Run it inside a read
// transaction of the caller's, so the head and its rows are one snapshot. A
// log with rows but no head is one problem; an empty one none. Errors: the
// database's; a database without the audit_head table says to start a
// converge serve on it once. Problems are in the verdict, not the status.
// The one audit-chain checker of the server: `serve --verify-audit` and
// `serve --fsck` (server/fsck.h) both use it.
Result<AuditVerdict> VerifyAuditLog(Db& db, const AuditPublicKey& key);

// `converge serve --verify-audit`: VerifyAuditLog on a data dir, through a
// read-only connection (safe beside a running server), against the data
// dir's own public key, or `key` when the operator gives one. Errors: those
// of DataDirAuditKey and VerifyAuditLog; kNotFound when the data dir has no
// converge.db.
Result<AuditVerdict> VerifyAuditDataDir(const fs::path& dir,
                                        const std::optional<AuditPublicKey>& key);

}  // namespace converge

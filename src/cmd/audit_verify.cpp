// converge audit --verify and converge serve --verify-audit: the verdict of
// the library's checks (client/audit_trust.h, server/audit_verify.h), printed.
#include "cmd/audit_verify.h"

#include <iostream>

#include "base/text.h"
#include "client/audit_trust.h"
#include "cmd/command.h"
#include "server/audit_verify.h"

namespace converge {

namespace {

void PrintVerdict(const AuditVerdict& v, bool json) {
  if (json) return PrintJson(ToJson(v));
  // One problem is the error line itself; more are listed first.
  if (v.problem_count > 1)
    for (const AuditProblem& p : v.problems)
      std::cout << "broken: " << ForTerminal(p.message) << "\n";
  if (!v.ok()) return;
  std::cout << "audit log OK: " << v.rows_checked << " rows checked; head row " << v.head.seq
            << " (" << ForTerminal(v.head.hash.substr(0, 16)) << "...) signed by " << v.fingerprint
            << "\n";
}

// Prints the verdict; a broken log fails (exit 1) naming its first break.
Status Report(const AuditVerdict& v, bool json) {
  PrintVerdict(v, json);
  if (v.ok()) return Status::Ok();
  std::string first = v.problems.empty() ? "the audit log is broken" : v.problems[0].message;
  if (v.problem_count > 1)
    first += " (" + std::to_string(v.problem_count - 1) + " more problem" +
             (v.problem_count > 2 ? "s" : "") + (json ? " in the report)" : " listed above)");
  return Corrupt(first);
}

}  // namespace

Status VerifyAuditLog(ApiClient& api, const std::string& key_flag, bool json) {
  AuditVerifyOptions o;
  o.key = key_flag;
  o.note = Note;
  ASSIGN_OR_RETURN(AuditVerdict v, VerifyServerAuditLog(api, o));
  return Report(v, json);
}

Status VerifyAuditDataDirCommand(const fs::path& data_dir, const std::string& db,
                                 const std::string& key_flag, bool json) {
  std::optional<AuditPublicKey> key;
  if (!key_flag.empty()) {
    ASSIGN_OR_RETURN(key, ParseAuditKeyArg(key_flag));
  }
  ASSIGN_OR_RETURN(AuditVerdict v, VerifyAuditDataDir(data_dir, db, key));
  return Report(v, json);
}

}  // namespace converge

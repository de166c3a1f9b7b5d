// The printing of an fsck report, shared by `converge fsck` and `converge
// serve --fsck` (cmd/fsck_report.h).
#include "cmd/fsck_report.h"

#include <iostream>

#include "base/progress.h"
#include "base/text.h"
#include "cmd/command.h"

namespace converge {

namespace {

nlohmann::json ReportToJson(const FsckReport& r) {
  nlohmann::json problems = nlohmann::json::array();
  for (const FsckProblem& p : r.problems)
    problems.push_back({{"subject", p.subject},
                        {"problem", p.problem},
                        {"severity", p.warning ? "warning" : "error"}});
  return {{"objects_checked", r.objects_checked},
          {"bytes_checked", r.bytes_checked},
          {"problems", problems},
          {"errors", r.errors()},
          {"warnings", r.problems.size() - r.errors()},
          {"fixed", r.fixed},
          {"ok", r.ok()}};
}

}  // namespace

Status PrintFsckReport(const FsckReport& r, bool json, const std::string& what,
                       const std::string& hint) {
  if (json) {
    PrintJson(ReportToJson(r));
  } else {
    for (const FsckProblem& p : r.problems)
      std::cout << (p.warning ? "warning: " : "damage: ") << ForTerminal(p.subject) << ": "
                << ForTerminal(p.problem) << "\n";
    for (const std::string& f : r.fixed) std::cout << "fixed: " << ForTerminal(f) << "\n";
    std::cout << "Checked " << r.objects_checked << " objects (" << HumanBytes(r.bytes_checked)
              << "): " << (r.ok() ? "no damage" : std::to_string(r.errors()) + " problems");
    size_t warnings = r.problems.size() - r.errors();
    if (warnings > 0) std::cout << ", " << warnings << " warnings";
    std::cout << "\n";
  }
  if (r.ok()) return Status::Ok();
  return Corrupt(what + " is damaged (" + std::to_string(r.errors()) + " problems" +
                 (json ? "" : " listed above") + "): " + hint);
}

}  // namespace converge

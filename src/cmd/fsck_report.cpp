// The printing of an fsck report, shared by `converge fsck` and `converge
// serve --fsck` (cmd/fsck_report.h).
#include "cmd/fsck_report.h"

#include <iostream>

#include "base/progress.h"
#include "base/text.h"
#include "cmd/command.h"
#include "server/fsck.h"

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

Status FsckDataDir(const std::string& data_dir, bool repair, bool json) {
  if (repair) {
    ASSIGN_OR_RETURN(FsckReport r, RepairDataDir(data_dir));
    return PrintFsckReport(r, json, "after the repair, data dir " + Quote(data_dir),
                       "a publication whose snap is no longer held is whole again once a "
                       "workspace that has the snap publishes it again (or uploads it); what "
                       "else is listed needs a backup of the data dir");
  }
  ASSIGN_OR_RETURN(FsckReport r, CheckDataDir(data_dir));
  return PrintFsckReport(r, json, "data dir " + Quote(data_dir),
                     "with the server stopped, 'converge serve --fsck --repair' sets damaged "
                     "objects aside so that the next upload of them stores them again; or "
                     "restore the damaged objects or database from a backup (clients that "
                     "fetched the publications named above hold copies of their objects)");
}

}  // namespace converge

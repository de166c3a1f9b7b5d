#include "cmd/gc_report.h"

#include <iostream>

#include "base/progress.h"
#include "cmd/command.h"

namespace converge {

std::string GraceText(int64_t s) {
  if (s > 0 && s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s > 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s > 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

void PrintGcReport(const GcStats& s, int64_t grace, bool dry_run, bool json,
                   const std::string& kept, const nlohmann::json& roots) {
  if (json) {
    PrintJson({{"dry_run", dry_run},
               {"grace_seconds", grace},
               {"kept", {{"objects", s.live}, {"roots", roots}}},
               {"removed",
                {{"objects", s.removed},
                 {"bytes", s.removed_bytes},
                 {"duplicate_copies", s.duplicates},
                 {"quarantined_copies", s.quarantined},
                 {"loose_files", s.loose_removed},
                 {"leftovers", s.leftovers}}},
               {"young", {{"objects", s.young}, {"bytes", s.young_bytes}}},
               {"left", {{"objects", s.left}, {"bytes", s.left_bytes}}},
               {"packs",
                {{"rewritten", s.indexes_rewritten},
                 {"removed", s.packs_removed},
                 {"kept", s.indexes_kept},
                 {"young", s.indexes_young},
                 {"index", s.index}}},
               {"carried", {{"objects", s.carried}, {"bytes", s.carried_bytes}}},
               {"loose_folded", s.loose_folded},
               {"restored", s.restored},
               {"bytes_before", s.bytes_before},
               {"bytes_after", s.bytes_after}});
    return;
  }
  std::string would = dry_run ? "would remove " : "removed ";
  std::cout << "kept " << s.live << " objects: everything " << kept << "\n";
  std::cout << would << s.removed << " unreferenced objects (" << HumanBytes(s.removed_bytes)
            << "), " << s.duplicates << " duplicate copies, " << s.quarantined
            << " quarantined copies and " << s.leftovers << " leftover temp files\n";
  if (s.young > 0)
    std::cout << "kept " << s.young << " unreferenced objects written in the last "
              << GraceText(grace) << " or named by one (" << HumanBytes(s.young_bytes)
              << "): a command may still be recording them\n";
  if (s.left > 0)
    std::cout << "left " << s.left << " unreferenced objects (" << HumanBytes(s.left_bytes)
              << ") in large packs they are under 5% of ('converge gc --all' rewrites those "
                 "too)\n";
  if (dry_run) {
    std::cout << "would write " << s.carried << " objects (about " << HumanBytes(s.carried_bytes)
              << ") into a new pack and remove " << HumanBytes(s.bytes_before)
              << " of old files; nothing was changed (--dry-run)\n";
    return;
  }
  if (!s.index.empty() || s.indexes_rewritten > 0)
    std::cout << "wrote " << (s.index.empty() ? std::string("no new pack") : s.index) << " ("
              << s.carried << " objects) from " << s.indexes_rewritten << " old packs and "
              << s.loose_folded << " loose files: " << HumanBytes(s.bytes_before) << " -> "
              << HumanBytes(s.bytes_after) << "; ";
  else
    std::cout << "nothing to rewrite: ";
  std::cout << s.indexes_kept << " packs kept as they are, " << s.indexes_young << " younger than "
            << GraceText(grace) << " left alone, " << s.loose_removed
            << " loose files of unreferenced objects removed\n";
}

}  // namespace converge

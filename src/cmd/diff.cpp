// converge diff [FROM [TO]]: path-level changes between two snaps, or between
// a snap (default: the head) and the working tree.
#include <iostream>

#include "base/text.h"
#include "cmd/command.h"
#include "workspace/snap_index.h"
#include "store/tree.h"
#include "workspace/capture.h"
#include "workspace/snapshot.h"

namespace converge {

void RegisterDiff(Cli& cli) {
  auto ids = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = cli.Command("diff", "List added (A), modified (M) and deleted (D) paths");
  cmd->add_option("snaps", *ids, "FROM [TO]: snap IDs; without TO, the working tree")
      ->expected(0, 2);
  cli.Run(cmd, [&cli, ids]() -> Status {
    ASSIGN_OR_RETURN(Workspace ws, OpenWorkspace());
    ObjectId from_root, to_root;
    CapturedTree work;
    TreeReader plain(ws.store());
    if (ids->empty()) {
      ASSIGN_OR_RETURN(auto head, SnapIndex(ws.db()).Head());
      if (!head) return NotFound("no snaps yet: give a snap to compare, or run 'converge snap'");
      ASSIGN_OR_RETURN(Snap s, plain.ReadSnap(*head));
      from_root = s.root;
    } else {
      ASSIGN_OR_RETURN(ObjectId from, ResolveSnapArg(ws, (*ids)[0]));
      ASSIGN_OR_RETURN(Snap s, plain.ReadSnap(from));
      from_root = s.root;
    }
    if (ids->size() == 2) {
      ASSIGN_OR_RETURN(ObjectId to, ResolveSnapArg(ws, (*ids)[1]));
      ASSIGN_OR_RETURN(Snap s, plain.ReadSnap(to));
      to_root = s.root;
    } else {
      CaptureOptions opts;
      opts.store = false;
      ASSIGN_OR_RETURN(work, CaptureTree(ws, opts));
      to_root = work.root;
    }
    TreeReader reader(ws.store(), &work.manifests);
    ASSIGN_OR_RETURN(std::vector<Change> changes, DiffTrees(reader, from_root, to_root));
    if (cli.globals.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const Change& c : changes)
        out.push_back({{"path", c.path}, {"change", std::string(1, c.change)}});
      PrintJson({{"changes", out}});
      return Status::Ok();
    }
    for (const Change& c : changes) std::cout << c.change << "  " << ForTerminal(c.path) << "\n";
    return Status::Ok();
  });
}

}  // namespace converge

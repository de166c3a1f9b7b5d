// converge clone --url URL --repo R [DIR] [--scope S] [--lane L]
// [--publication ID]: a new workspace with that remote, fetched and restored.
#include <iostream>

#include "base/progress.h"
#include "base/text.h"
#include "client/clone.h"
#include "cmd/command.h"

namespace converge {

void RegisterClone(Cli& cli) {
  auto o = std::make_shared<CloneOptions>();
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = cli.Command(
      "clone", "Make a workspace of a repo: init, remote set, fetch and restore in one step");
  AddServerFlags(cmd, o->server);
  cmd->get_option("--url")->required()->description("Server URL");
  cmd->add_option("--repo", o->repo, "Repo on that server")->required();
  cmd->add_option("dir", *dir, "New or empty directory (default: the repo's name)")
      ->type_name("DIR");
  cmd->add_option("--scope", o->scope, "Default scope, and only its publications");
  cmd->add_option("--lane", o->lane, "Default lane, and only its publications");
  cmd->add_option("--publication", o->publication,
                  "Fetch and restore this publication (ID or prefix; default: the newest)");
  cli.Run(cmd, [&cli, o, dir]() -> Status {
    o->dir = *dir;
    o->progress = !cli.globals.json;
    o->lock = LockPolicy(cli);
    ASSIGN_OR_RETURN(CloneOutcome out, Clone(*o));
    std::string root = out.root.string();
    if (cli.globals.json) {
      nlohmann::json j = {{"root", root},
                          {"publications", wire::ToJson(out.fetched.publications)},
                          {"objects_fetched", out.fetched.objects_fetched},
                          {"bytes_fetched", out.fetched.bytes_fetched},
                          {"bytes_received", out.fetched.bytes_received},
                          {"restored", nullptr}};
      if (out.restored)
        j["restored"] = {{"publication", out.restored->id},
                         {"snap", out.restored->snap},
                         {"files", out.stats.files},
                         {"bytes", out.stats.bytes}};
      PrintJson(j);
      return Status::Ok();
    }
    Note("Fetched " + std::to_string(out.fetched.publications.size()) +
         " publications: " + std::to_string(out.fetched.objects_fetched) + " objects, " +
         HumanBytes(out.fetched.bytes_fetched));
    if (!out.restored) {
      std::cout << "Cloned " << ForTerminal(o->repo) << " into " << ForTerminal(root)
                << ": it has no publication you may read yet\n";
      return Status::Ok();
    }
    std::cout << "Cloned " << ForTerminal(o->repo) << " into " << ForTerminal(root)
              << ": publication " << out.restored->id.substr(0, 12) << " (snap "
              << out.restored->snap.substr(0, 12) << "), " << out.stats.files << " files, "
              << HumanBytes(out.stats.bytes) << "\n";
    return Status::Ok();
  });
}

}  // namespace converge

#include "workspace/workspace.h"

#include <sys/stat.h>

#include <cctype>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/random.h"

namespace converge {

using json = nlohmann::json;

namespace {

std::string EncodeConfig(const WorkspaceConfig& c) {
  json j = {{"version", 1}, {"workspace_id", c.workspace_id}};
  if (c.remote)
    j["remote"] = {{"url", c.remote->url},
                   {"repo", c.remote->repo},
                   {"scope", c.remote->scope},
                   {"gate", c.remote->gate},
                   {"lane", c.remote->lane}};
  return j.dump(2) + "\n";
}

Result<WorkspaceConfig> DecodeConfig(const std::string& text, const fs::path& path) {
  Result<json> j = ParseJson(text);
  if (!j.ok() || !j->is_object() || !j->contains("workspace_id") ||
      !(*j)["workspace_id"].is_string())
    return Corrupt("workspace config '" + path.string() + "' is damaged: expected JSON with " +
                   "\"workspace_id\"");
  WorkspaceConfig c;
  c.workspace_id = (*j)["workspace_id"].get<std::string>();
  if (j->contains("remote") && (*j)["remote"].is_object()) {
    const json& r = (*j)["remote"];
    Remote remote;
    remote.url = r.value("url", "");
    remote.repo = r.value("repo", "");
    remote.scope = r.value("scope", "main");
    remote.gate = r.value("gate", "dev-intake");
    remote.lane = r.value("lane", "");
    c.remote = remote;
  }
  return c;
}

}  // namespace

Result<Workspace> Workspace::Init(const fs::path& dir) {
  RETURN_IF_ERROR(MakeDirs(dir));
  fs::path root = fs::canonical(dir);
  fs::path meta = root / kMetaDir;
  if (fs::exists(meta / "config.json"))
    return Conflict("'" + root.string() + "' is already a converge workspace");
  RETURN_IF_ERROR(MakeDirs(meta, 0700));
  ::chmod(meta.c_str(), 0700);  // the store holds every captured byte: owner only
  WorkspaceConfig config;
  config.workspace_id = RandomHex(16);
  // The config is written last: a workspace without one is an interrupted init.
  ASSIGN_OR_RETURN(ObjectStore store, ObjectStore::Open(meta));
  ASSIGN_OR_RETURN(Db db, Db::Open(meta / "converge.db", DbRole::kWorkspace));
  RETURN_IF_ERROR(WriteFileAtomic(meta / "config.json", EncodeConfig(config), 0600));
  return Workspace(root, std::move(store), std::move(db), config);
}

Result<Workspace> Workspace::Find(const fs::path& start) {
  std::error_code ec;
  fs::path dir = fs::canonical(start, ec);
  if (ec) return NotFound("directory '" + start.string() + "' does not exist");
  for (;;) {
    if (fs::exists(dir / kMetaDir / "config.json", ec)) return Open(dir);
    if (dir == dir.root_path() || !dir.has_parent_path()) break;
    dir = dir.parent_path();
  }
  return NotFound("not a converge workspace (or any parent up to /): run 'converge init' first");
}

Result<Workspace> Workspace::Open(const fs::path& root) {
  fs::path meta = root / kMetaDir;
  ASSIGN_OR_RETURN(std::string text, ReadFile(meta / "config.json"));
  ASSIGN_OR_RETURN(WorkspaceConfig config, DecodeConfig(text, meta / "config.json"));
  ASSIGN_OR_RETURN(ObjectStore store, ObjectStore::Open(meta));
  ASSIGN_OR_RETURN(Db db, Db::Open(meta / "converge.db", DbRole::kWorkspace));
  return Workspace(root, std::move(store), std::move(db), config);
}

Status Workspace::SaveConfig(const WorkspaceConfig& config) {
  RETURN_IF_ERROR(WriteFileAtomic(meta() / "config.json", EncodeConfig(config), 0600));
  config_ = config;
  return Status::Ok();
}

bool Workspace::IsRestoreLeftover(std::string_view name) {
  const std::string_view prefix = ".converge-restore.", suffix = ".tmp";
  if (name.size() != prefix.size() + 16 + suffix.size()) return false;
  if (name.substr(0, prefix.size()) != prefix || name.substr(name.size() - suffix.size()) != suffix)
    return false;
  for (char c : name.substr(prefix.size(), 16))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace converge

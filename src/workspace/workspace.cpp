#include "workspace/workspace.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

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
    remote.scope = r.value("scope", kDefaultScope);
    remote.gate = r.value("gate", kDefaultGate);
    remote.lane = r.value("lane", "");
    c.remote = remote;
  }
  return c;
}

Status RefuseMeta(const fs::path& path, const std::string& why) {
  return Permission("refusing to use '" + path.string() + "' as a workspace: " + why +
                    "; a workspace's .converge is a real directory owned by you (if you did " +
                    "not make it, remove it)");
}

std::string NotYours(const struct stat& st) {
  return "it belongs to uid " + std::to_string(st.st_uid) + ", not to you (uid " +
         std::to_string(::geteuid()) + ")";
}

// What lstat says about DIR/.converge: absent (false), a directory of ours
// (true), or refused: a symlink (a restored tree could have planted one that
// points at a config of its author's choosing), not a directory, or someone
// else's.
Result<bool> MetaDirHere(const fs::path& meta) {
  struct stat st;
  if (::lstat(meta.c_str(), &st) != 0) return false;  // absent or out of reach: not here
  if (S_ISLNK(st.st_mode)) return RefuseMeta(meta, "it is a symlink");
  if (!S_ISDIR(st.st_mode)) return RefuseMeta(meta, "it is not a directory");
  if (st.st_uid != ::geteuid()) return RefuseMeta(meta, NotYours(st));
  return true;
}

// The text of DIR/.converge/config.json when DIR is a workspace, nullopt when
// it is not (no .converge, or an interrupted init without a config). The
// checks are repeated on the descriptors that are read (O_NOFOLLOW), so a
// symlink swapped in after the lstat is not followed either.
Result<std::optional<std::string>> ReadConfigIfWorkspace(const fs::path& dir) {
  fs::path meta = dir / Workspace::kMetaDir, path = meta / "config.json";
  ASSIGN_OR_RETURN(bool here, MetaDirHere(meta));
  if (!here) return std::optional<std::string>();
  int mfd = ::open(meta.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (mfd < 0) return ErrnoStatus("cannot open '" + meta.string() + "'", errno);
  Fd meta_fd(mfd);
  struct stat st;
  if (::fstat(mfd, &st) != 0) return ErrnoStatus("cannot stat '" + meta.string() + "'", errno);
  if (st.st_uid != ::geteuid()) return RefuseMeta(meta, NotYours(st));
  int cfd = ::openat(mfd, "config.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (cfd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();  // an interrupted init
    if (errno == ELOOP) return RefuseMeta(path, "it is a symlink");
    return ErrnoStatus("cannot open '" + path.string() + "'", errno);
  }
  Fd config_fd(cfd);
  if (::fstat(cfd, &st) != 0) return ErrnoStatus("cannot stat '" + path.string() + "'", errno);
  if (!S_ISREG(st.st_mode)) return RefuseMeta(path, "it is not a regular file");
  if (st.st_uid != ::geteuid()) return RefuseMeta(path, NotYours(st));
  std::string text;
  char buf[8192];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, ReadSome(cfd, buf, sizeof buf, "'" + path.string() + "'"));
    if (n == 0) break;
    text.append(buf, n);
  }
  return std::optional<std::string>(std::move(text));
}

}  // namespace

Result<Workspace> Workspace::Init(const fs::path& dir) {
  RETURN_IF_ERROR(MakeDirs(dir));
  fs::path root = fs::canonical(dir);
  fs::path meta = root / kMetaDir;
  // Never through a symlink, never into someone else's directory.
  ASSIGN_OR_RETURN(bool meta_exists, MetaDirHere(meta));
  if (meta_exists && fs::exists(meta / "config.json"))
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
    ASSIGN_OR_RETURN(std::optional<std::string> config, ReadConfigIfWorkspace(dir));
    if (config) return Open(dir, *config);
    if (dir == dir.root_path() || !dir.has_parent_path()) break;
    dir = dir.parent_path();
  }
  return NotFound("not a converge workspace (or any parent up to /): run 'converge init' first");
}

Result<Workspace> Workspace::Open(const fs::path& root, const std::string& text) {
  fs::path meta = root / kMetaDir;
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

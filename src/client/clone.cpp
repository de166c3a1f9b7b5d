#include "client/clone.h"

#include <system_error>

#include "base/memory.h"
#include "base/text.h"
#include "client/clone_writer.h"
#include "client/credentials.h"
#include "workspace/lock.h"

namespace converge {

namespace {

// Where the clone goes, and whether the clone makes it (else it is an empty
// directory already).
Result<bool> CheckTarget(const fs::path& dir) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    return IoError("cannot look at '" + dir.string() + "': " + ec.message());
  if (!fs::exists(st)) return true;
  if (!fs::is_directory(st) || !fs::is_empty(dir, ec) || ec)
    return Conflict("destination '" + dir.string() +
                    "' already exists and is not an empty directory: name another, or "
                    "'converge init' there and fetch into it");
  return false;
}

// Takes away what a failed clone made in `dir`.
void Unmake(const fs::path& dir, bool made_dir) {
  std::error_code ec;
  if (made_dir) {
    fs::remove_all(dir, ec);
    return;
  }
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
}

// The newest of `pubs` (the server lists each lane newest first; several
// lanes' lists are merged by time). The server writes its timestamps in one
// fixed-width form (base/clock.h), so their text order is their time order;
// the first of equals wins. (A server that lies about times only picks which
// of its publications is restored, which it could anyway.)
const wire::Publication* Newest(const std::vector<wire::Publication>& pubs) {
  const wire::Publication* best = nullptr;
  for (const wire::Publication& p : pubs)
    if (!best || p.created_at > best->created_at) best = &p;
  return best;
}

Status CloneInto(const CloneOptions& opts, const std::string& url, CloneOutcome* out) {
  ASSIGN_OR_RETURN(Workspace ws, Workspace::Init(opts.dir));
  out->root = ws.root();
  WorkspaceConfig config = ws.config();
  Remote remote;
  remote.url = url;
  remote.repo = opts.repo;
  if (!opts.scope.empty()) remote.scope = opts.scope;
  remote.lane = opts.lane;
  config.remote = remote;
  RETURN_IF_ERROR(ws.SaveConfig(config));

  ServerFlags flags = opts.server;
  flags.url = url;
  ASSIGN_OR_RETURN(ApiClient api, ConnectAuthenticated(flags, &ws));
  FetchOptions fetch;
  fetch.scope = opts.scope;
  fetch.lane = opts.lane;
  fetch.publication = opts.publication;
  fetch.progress = opts.progress;
  fetch.lock = opts.lock;
  // The tree of the publication to restore is written as its objects arrive.
  std::unique_ptr<CloneWriter> writer;
  fetch.observe = [&](const std::vector<wire::Publication>& pubs) -> DownloadObserver* {
    const wire::Publication* newest = Newest(pubs);
    std::optional<ObjectId> snap = newest ? ObjectId::FromHex(newest->snap) : std::nullopt;
    if (!snap) return nullptr;
    Result<std::unique_ptr<CloneWriter>> w = CloneWriter::Open(ws.root(), *snap);
    if (w.ok()) writer = std::move(*w);
    return writer.get();
  };
  Result<FetchOutcome> fetched = FetchPublications(ws, api, opts.repo, fetch);
  if (!fetched.ok()) return ExplainFailure(fetched.status(), "", opts.repo);
  out->fetched = std::move(*fetched);

  const wire::Publication* newest = Newest(out->fetched.publications);
  if (!newest) return Status::Ok();
  out->restored = *newest;
  std::optional<ObjectId> snap = ObjectId::FromHex(newest->snap);
  if (!snap) return Corrupt("publication " + newest->id + " names no valid snap");
  ASSIGN_OR_RETURN(WorkspaceLock lock, WorkspaceLock::Acquire(ws, "converge clone", opts.lock));
  if (!writer) {
    ASSIGN_OR_RETURN(out->stats, RestoreInPlace(ws, *snap, /*force=*/false, opts.progress));
    return Status::Ok();
  }
  // What the writer made, trusted, and the rest written, in one walk. The
  // download's bookkeeping, freed, goes back to the system first: the walk
  // then maps much of the store's index (a million objects: ~64 MB).
  writer->Finish();
  ReturnFreedMemory();
  ASSIGN_OR_RETURN(out->stats, CompleteRestore(ws, *snap, writer->written()));
  out->stats.written += writer->files_written();
  return Status::Ok();
}

}  // namespace

Result<CloneOutcome> Clone(const CloneOptions& opts) {
  if (opts.repo.empty()) return Invalid("name the repo to clone (--repo)");
  // By default, a directory named after the repo (a repo name is one path
  // component, never '.' or '..': docs/api.md).
  fs::path dir = opts.dir.empty() ? fs::path(opts.repo) : opts.dir;
  if (opts.dir.empty() &&
      (opts.repo == "." || opts.repo == ".." || opts.repo.find('/') != std::string::npos))
    return Invalid("cannot name a directory after repo " + Quote(opts.repo) + ": give one");
  ASSIGN_OR_RETURN(std::string url, CanonicalServerUrl(opts.server.url));
  ASSIGN_OR_RETURN(bool make_dir, CheckTarget(dir));
  CloneOptions o = opts;
  o.dir = dir;
  CloneOutcome out;
  Status st = CloneInto(o, url, &out);
  if (!st.ok()) {
    Unmake(dir, make_dir);
    return st;
  }
  return out;
}

}  // namespace converge

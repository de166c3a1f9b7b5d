// What `converge status` shows: the remote, who you are there, the newest
// snap and whether the tree has changes no snap holds, and the most recent
// publications of your lanes. Works offline from what the last fetch recorded.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/session.h"
#include "api/wire.h"
#include "workspace/snap_index.h"
#include "store/tree.h"
#include "workspace/workspace.h"

namespace converge {

struct StatusReport {
  std::optional<Remote> remote;
  std::string lane;  // the lane publish would use ("" if unknown)
  std::string user;  // handle, from the server or the stored login
  std::string workspace_id;
  std::optional<SnapRecord> snap;  // the head (else the newest snap)
  bool dirty = false;
  std::vector<Change> changes;  // against that snap, when dirty
  bool reachable = false;
  std::string server_error;  // why it was not reachable
  bool from_server = false;  // publications came from the server, not the local record
  std::map<std::string, std::vector<wire::Publication>> by_lane;
};

Result<StatusReport> GatherStatus(Workspace& ws, const ServerFlags& flags, int per_lane);

}  // namespace converge

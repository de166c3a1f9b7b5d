// The object routes of docs/api.md ("Routes", "What the server checks on
// intake"): a repo's objects one at a time, which of a list it lacks, and
// packs both ways (docs/pack.md).
//
//   POST /v1/repos/{repo}/objects/missing   publisher
//   PUT  /v1/repos/{repo}/{kind}s/{id}      publisher: body up to max_object_bytes
//                                           (blobs) or max_metadata_bytes
//   GET  /v1/repos/{repo}/{kind}s/{id}      reader: raw bytes, re-hashed first
//   POST /v1/repos/{repo}/objects/pack      publisher: a pack, streamed in
//   POST /v1/repos/{repo}/objects/fetch     reader: a pack, streamed out
//
// {kind} is blob, manifest, snap or chunklist. A repo the caller may not read
// is 404. Checking and storing each object is object intake's
// (server/object_intake.h); a stream that fails after its head went out
// ends the connection, so the client sees a short body.
#pragma once

#include <httplib.h>

#include "server/authority.h"

namespace converge {

// Adds the routes above to `svr`; `a` must outlive it.
void RegisterObjectRoutes(httplib::Server& svr, Authority& a);

}  // namespace converge

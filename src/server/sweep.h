// The data dir's sweep while a server runs: what crashed writers left in
// it, on this node or on any other sharing it (docs/server.md, "Running
// several nodes"), is removed every sweep_interval_seconds (a PeriodicTask,
// server/periodic.h, started by server/serve.cpp), not only when a node
// next starts.
#pragma once

#include <cstdint>

#include "store/cas.h"

namespace converge {

// One round: the store's CleanStaleTemps (store/cas.h): temp files in tmp/
// last written over `max_age_seconds` ago, and pack files no index names, as
// old (an interrupted commit's). A younger temp file may be an upload in
// flight on some node and stays. Logs what it removed (info); returns how
// many files.
size_t SweepStaleFiles(const ObjectStore& store, int64_t max_age_seconds);

}  // namespace converge

// Measuring the depth of trees stored before the server recorded depths
// (schema migration 3): each such manifest and snap is measured from the
// object files and its row updated, once, when the server starts. A manifest
// whose file is missing or damaged stays unmeasured: intake then refuses what
// names it, publication refuses a snap of it, and `serve --fsck` reports it.
#pragma once

#include <string>
#include <vector>

#include "store/cas.h"
#include "store/db.h"

namespace converge {

// Returns notes for the operator (how many were measured, which could not be).
Result<std::vector<std::string>> MeasureStoredDepths(Db& db, const ObjectStore& store);

}  // namespace converge

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

// Run by Authority::Open before any request (no caller, no role, nothing
// audited: it only fills in a derived column). Returns notes for the
// operator (how many were measured, which could not be); an object that
// cannot be measured is a note, not an error. Fails only with the
// database's errors (kIo), when nothing is recorded.
Result<std::vector<std::string>> MeasureStoredDepths(Db& db, const ObjectStore& store);

}  // namespace converge

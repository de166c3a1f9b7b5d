// The printing of a collection (store/gc.h's GcStats) for `converge gc`,
// a workspace's or a data dir's.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "store/gc.h"

namespace converge {

// `kept` says what keeps objects ("5 snaps, the head and the stat cache");
// `roots` is its JSON form. One JSON document under `json`, else a few lines.
void PrintGcReport(const GcStats& s, int64_t grace_seconds, bool dry_run, bool json,
                   const std::string& kept, const nlohmann::json& roots);

// "90s", "30m", "1h", "14d".
std::string GraceText(int64_t seconds);

}  // namespace converge

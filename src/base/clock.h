// Server timestamps: RFC 3339 UTC with microseconds and a fixed width, so that
// comparing two of them as strings (as SQL does) compares them as times.
#pragma once

#include <chrono>
#include <string>

namespace converge {

std::string TimeNow();
// The time `offset` from now (negative: in the past).
std::string TimeFromNow(std::chrono::seconds offset);

}  // namespace converge

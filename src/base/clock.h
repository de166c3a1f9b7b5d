// Server timestamps: RFC 3339 UTC with microseconds and a fixed width, so that
// comparing two of them as strings (as SQL does) compares them as times.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace converge {

std::string TimeNow();
// The time `offset` from now (negative: in the past).
std::string TimeFromNow(std::chrono::seconds offset);
// Whole seconds from now until the server timestamp `at` (negative when it
// has passed); nullopt for text that is not one.
std::optional<int64_t> SecondsUntil(std::string_view at);
// Whether `text` is a server timestamp, "2026-11-30T08:15:00.000000Z": that
// form exactly, a real date and time of day (UTC).
bool IsTimestamp(std::string_view text);

}  // namespace converge

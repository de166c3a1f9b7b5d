// Text helpers: UTF-8 validation, RFC 3339 timestamps, and quoting for messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace converge {

bool IsValidUtf8(std::string_view s);

// The current UTC time as "2026-11-25T21:56:44Z".
std::string NowRfc3339();
// The current UTC time with microseconds, "2026-11-25T21:56:44.123456Z":
// server timestamps, where order within a second matters.
std::string NowRfc3339Micros();
int64_t NowUnixMillis();

// A byte string shown safely in an error message: quoted, with control
// characters and invalid UTF-8 escaped.
std::string Quote(std::string_view s);

}  // namespace converge

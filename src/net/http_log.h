// The server's log on stderr: one whole line per write, so lines from worker
// threads never interleave. Levels: debug < info (the access log) < warn < error.
#pragma once

#include <string>
#include <string_view>

namespace converge {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Parses "debug", "info", "warn", "error" (anything else: info).
LogLevel LogLevelFromName(std::string_view name);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// Writes "<time> <level> <text>\n" when `level` is enabled, `text` escaped
// with ForTerminal (base/text.h).
void LogLine(LogLevel level, std::string_view text);

// `s` with control bytes, spaces and invalid UTF-8 escaped: safe as one field
// of a log line whatever a client put in it.
std::string LogField(std::string_view s);

}  // namespace converge

#include "net/http_log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "base/text.h"
#include "base/clock.h"

namespace converge {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
const char* Name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}
}  // namespace

LogLevel LogLevelFromName(std::string_view name) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError})
    if (name == Name(l)) return l;
  return LogLevel::kInfo;
}

void SetLogLevel(LogLevel level) {
  g_level = static_cast<int>(level);
}
bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load();
}

void LogLine(LogLevel level, std::string_view text) {
  if (!LogEnabled(level)) return;
  // An operator reads this on a terminal: whatever a client got into the
  // text (a path, a name in an error) is escaped, one line stays one line.
  std::string line = TimeNow() + " " + Name(level) + " " + ForTerminal(text) + "\n";
  // One write(2) per line: the kernel keeps it whole against other threads.
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(2, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

std::string LogField(std::string_view s) {
  if (s.empty()) return "-";
  bool utf8 = IsValidUtf8(s);
  std::string out;
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f || (!utf8 && c >= 0x80)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace converge

#include "base/clock.h"

#include <cstdio>
#include <ctime>

namespace converge {

namespace {
std::string Format(std::chrono::system_clock::time_point tp) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(tp);
  if (secs > tp) secs -= std::chrono::seconds(1);  // floor, also before 1970
  std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(tp - secs).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us));
  return buf;
}
}  // namespace

std::string TimeNow() {
  return Format(std::chrono::system_clock::now());
}

std::string TimeFromNow(std::chrono::seconds offset) {
  return Format(std::chrono::system_clock::now() + offset);
}

}  // namespace converge

#include "base/clock.h"

#include <cstdint>
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

// The time a timestamp in Format's form names: a real date, hours 0-23,
// minutes and seconds 0-59; nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> ParseTimestamp(std::string_view at) {
  static constexpr std::string_view kShape = "0000-00-00T00:00:00.000000Z";
  if (at.size() != kShape.size()) return std::nullopt;
  for (size_t i = 0; i < at.size(); i++) {
    bool digit = at[i] >= '0' && at[i] <= '9';
    if (kShape[i] == '0' ? !digit : at[i] != kShape[i]) return std::nullopt;
  }
  auto num = [&](size_t from, size_t n) {
    int v = 0;
    for (size_t i = from; i < from + n; i++) v = v * 10 + (at[i] - '0');
    return v;
  };
  namespace chr = std::chrono;
  chr::year_month_day ymd{chr::year(num(0, 4)), chr::month(static_cast<unsigned>(num(5, 2))),
                          chr::day(static_cast<unsigned>(num(8, 2)))};
  if (!ymd.ok() || num(11, 2) > 23 || num(14, 2) > 59 || num(17, 2) > 59) return std::nullopt;
  return chr::sys_days(ymd) + chr::hours(num(11, 2)) + chr::minutes(num(14, 2)) +
         chr::seconds(num(17, 2)) + chr::microseconds(num(20, 6));
}

}  // namespace

std::optional<int64_t> SecondsUntil(std::string_view at) {
  std::optional<std::chrono::system_clock::time_point> tp = ParseTimestamp(at);
  if (!tp) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(*tp - std::chrono::system_clock::now())
      .count();
}

bool IsTimestamp(std::string_view text) {
  return ParseTimestamp(text).has_value();
}

std::string TimeNow() {
  return Format(std::chrono::system_clock::now());
}

std::string TimeFromNow(std::chrono::seconds offset) {
  return Format(std::chrono::system_clock::now() + offset);
}

}  // namespace converge

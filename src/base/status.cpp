#include "base/status.h"

namespace converge {

namespace {
struct CodeEntry {
  Code code;
  const char* name;
};
constexpr CodeEntry kCodes[] = {
    {Code::kOk, "ok"},
    {Code::kInvalid, "invalid"},
    {Code::kUnauthenticated, "unauthenticated"},
    {Code::kPermission, "forbidden"},
    {Code::kNotFound, "not_found"},
    {Code::kConflict, "conflict"},
    {Code::kTooLarge, "too_large"},
    {Code::kCorrupt, "corrupt"},
    {Code::kIo, "io"},
    {Code::kIo, "insufficient_storage"},  // a server's full disk (507); "io" is kIo's name
    {Code::kUnavailable, "unavailable"},
    {Code::kRateLimited, "rate_limited"},
    {Code::kInternal, "internal"},
};
}  // namespace

const char* CodeName(Code code) {
  for (const auto& e : kCodes)
    if (e.code == code) return e.name;
  return "internal";
}

Code CodeFromName(const std::string& name) {
  for (const auto& e : kCodes)
    if (name == e.name) return e.code;
  return Code::kInternal;
}

}  // namespace converge

// ParseJson with its depth limit. The first byte picks the limit (0-63), the
// rest is the text. Whatever it accepts is nested no deeper than the limit,
// nor deeper than JsonDepth (the pre-scan that guards the parser) said, holds
// only valid UTF-8, and survives dump() and a second parse.
#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/text.h"
#include "fuzz_check.h"

using namespace converge;
using json = nlohmann::json;

namespace {

// Nesting depth of a parsed document (a scalar is 0, [] and {} are 1), or
// anything over `limit` when deeper: recursion stops there.
int Depth(const json& j, int limit) {
  if (!j.is_structured()) return 0;
  if (limit < 0) return 1;
  int deepest = 0;
  for (const json& v : j) deepest = std::max(deepest, Depth(v, limit - 1));
  return deepest + 1;
}

bool AllUtf8(const json& j) {
  if (j.is_string()) return IsValidUtf8(j.get_ref<const std::string&>());
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!IsValidUtf8(it.key()) || !AllUtf8(it.value())) return false;
  if (j.is_array())
    for (const json& v : j)
      if (!AllUtf8(v)) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  int max_depth = data[0] % 64;
  std::string_view text = fuzz::Bytes(data + 1, size - 1);
  Result<json> j = ParseJson(text, max_depth);
  if (!j.ok()) return 0;
  int depth = Depth(*j, max_depth);
  FUZZ_CHECK(depth <= max_depth, "ParseJson accepted a document deeper than its limit");
  // Shallower is possible: of duplicate keys, the last one wins.
  FUZZ_CHECK(depth <= JsonDepth(text), "JsonDepth saw less nesting than the parser");
  FUZZ_CHECK(AllUtf8(*j), "ParseJson accepted invalid UTF-8");
  std::string dumped = j->dump();
  Result<json> again = ParseJson(dumped, max_depth);
  FUZZ_CHECK(again.ok() && *again == *j, "dump() does not parse back to the same document");
  return 0;
}

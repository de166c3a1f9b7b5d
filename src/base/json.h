// JSON parsing that never throws across a layer and refuses hostile nesting.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace converge {

// Parses `text`, failing with kInvalid on bad JSON or on arrays/objects nested
// deeper than `max_depth` (checked before parsing, so a hostile document
// cannot exhaust the stack). Invalid UTF-8 in strings is rejected.
Result<nlohmann::json> ParseJson(std::string_view text, int max_depth = 16);

// The deepest array/object nesting in `text`, or -1 if it is unbalanced.
int JsonDepth(std::string_view text);

// Appends `s` (valid UTF-8) as a JSON string, quoted and escaped byte for
// byte as nlohmann's dump() does: the canonical object encodings rely on it
// to build hot objects (manifests) without building a json value first.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace converge

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

// `j` as `--json` prints it: dump(indent), but with DEL and every code point
// a terminal would act on or reorder text by (IsTerminalControl in
// base/text.h: C1 and bidi controls, U+2028, U+2029) written as a \uXXXX
// escape instead of raw (dump() escapes only C0). The document parses to
// exactly the same value: strings stay byte for byte what they were.
std::string DumpForTerminal(const nlohmann::json& j, int indent);

}  // namespace converge

// `converge gates --set FILE`: a gate graph written by hand, read strictly
// before anything is sent, so a typo never reaches the server.
#pragma once

#include <string>

#include "api/wire.h"

namespace converge {

// The GateGraph in `text` ({"gates": [{"id", "upstream", "description"}]}),
// `where` naming its source in errors. Unknown fields are refused (a typo
// such as "upstreams" would otherwise vanish and leave a gate with no
// upstream). Errors: kInvalid naming `where` and what is wrong.
Result<wire::GateGraph> ParseGateGraph(const std::string& text, const std::string& where);

// The same, read from `file` ("-": stdin). Errors: reading the file (named),
// or ParseGateGraph's.
Result<wire::GateGraph> ReadGateGraphFile(const std::string& file);

}  // namespace converge

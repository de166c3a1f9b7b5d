// DecodeManifest, the parser of a manifest's canonical bytes
// (docs/objects.md). Included by store/objects.h, where Manifest is; a
// header of its own so the parser (manifest_decode.cpp) has its contract
// beside it.
#pragma once

#include <string_view>

#include "base/status.h"

namespace converge {

struct Manifest;  // store/objects.h

// Decodes `bytes` as a manifest in canonical form: the exact spelling
// EncodeManifest writes (keys in order, no whitespace, "version": 1), entries
// sorted by name without duplicates, every name, mode, size and ID valid.
// Needs nothing else (referenced objects are the caller's check). Returns the
// manifest. Errors: kCorrupt, naming the offset or the entry at fault.
Result<Manifest> DecodeManifest(std::string_view bytes);

}  // namespace converge

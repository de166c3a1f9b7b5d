// zstd at rest, chosen per object (docs/objects.md, "Packs at rest"): an
// object is kept compressed only when that saves at least a tenth of its
// bytes, and data that does not compress (random binaries, media, archives)
// is recognized from a sample of its first 64 KiB, so it costs next to
// nothing. Objects over kMaxCompressedObject are always stored raw, so that
// a compressed object can be read, hashed and handed out from one buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace converge {

inline constexpr uint64_t kMaxCompressedObject = 8u << 20;

// The zstd frame to store instead of `raw`, or nullopt to store it raw.
std::optional<std::string> CompressForStorage(std::string_view raw);

// Decompresses a stored frame into exactly `raw_size` bytes at `out`;
// kCorrupt when the frame is damaged or holds any other number of bytes.
Status DecompressStored(std::string_view frame, char* out, uint64_t raw_size);

}  // namespace converge

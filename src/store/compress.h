// zstd at rest, chosen per object (docs/objects.md, "Packs at rest"): an
// object is kept compressed only when that saves at least a tenth of its
// bytes, and data that does not compress (random binaries, media, archives)
// is recognized from a sample of its first 64 KiB, so it costs next to
// nothing. Objects over kMaxCompressedObject are always stored raw; one the
// memory budget (store/memory_budget.h) has no room to compress is too.
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

// Decompresses a frame a piece at a time, in bounded memory: Feed it the
// stored bytes in order; each call appends what it could decompress to
// `out` (at most `out_cap` bytes in all). kCorrupt for a damaged frame, one
// that needs a window past 1 MiB (converge writes none) or bytes after its end.
class StreamDecompressor {
 public:
  StreamDecompressor();
  ~StreamDecompressor();
  StreamDecompressor(const StreamDecompressor&) = delete;
  StreamDecompressor& operator=(const StreamDecompressor&) = delete;
  // Decompresses from `in` (advancing it) into out[*out_len..out_cap).
  Status Feed(std::string_view& in, char* out, size_t out_cap, size_t* out_len);
  bool done() const { return done_; }  // the frame ended

 private:
  void* ctx_;
  bool done_ = false;
};

}  // namespace converge

// zstd at rest, chosen per object (docs/objects.md, "Packs at rest"): an
// object is kept compressed only when that saves at least a tenth of its
// bytes, and data that does not compress (random binaries, media, archives)
// is recognized from a sample of its first 64 KiB, so it costs next to
// nothing. Objects over kMaxCompressedObject are always stored raw; one the
// memory budget (store/memory_budget.h) has no room to compress is too.
//
// On the wire (docs/pack.md, "Version 2") the same frames travel as they are
// stored, an object may be sent as a frame against a base the receiver holds
// (zstd's "patch from": the base's bytes are the frame's prefix), and a whole
// upload may be one zstd stream (StreamCompressor).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace converge {

inline constexpr uint64_t kMaxCompressedObject = 8u << 20;
// A frame of a compressed object is never larger than its raw size plus this
// (zstd's bound for 8 MiB is 32 KiB over).
inline constexpr uint64_t kMaxFrameOverhead = 64u << 10;
// The largest window a frame of one object may ask for: 1 MiB (level 1 uses
// at most 512 KiB), so a piecewise read holds at most that much.
inline constexpr int kObjectWindowLog = 20;
// A frame against a base may reach back over the base and the object (both
// at most kMaxCompressedObject); it is decompressed in one call, into a
// buffer of the object's size, so the window costs no memory of its own.
inline constexpr int kDeltaWindowLog = 24;

// The zstd frame to store instead of `raw`, or nullopt to store it raw.
std::optional<std::string> CompressForStorage(std::string_view raw);

// Decompresses a stored frame into exactly `raw_size` bytes at `out`;
// kCorrupt when the frame is damaged or holds any other number of bytes.
Status DecompressStored(std::string_view frame, char* out, uint64_t raw_size);

// The frame to send instead of `raw` when the receiver holds `base`: `raw`
// compressed with `base`'s bytes as its prefix (both at most
// kMaxCompressedObject). Nullopt when it is not smaller than `raw`, or when
// the memory budget has no room for the output.
std::optional<std::string> CompressAgainst(std::string_view raw, std::string_view base);

// Decompresses a CompressAgainst frame, given the same base, into exactly
// `raw_size` bytes at `out` (in one call: the window costs no memory);
// kCorrupt when the frame is damaged or holds any other number of bytes.
Status DecompressAgainst(std::string_view frame, std::string_view base, char* out,
                         uint64_t raw_size);

// Checks the header of a frame that must hold exactly `raw_size` bytes, from
// its first bytes: a zstd frame (not a skippable one) that declares its
// content size, equal to `raw_size` (the window it asks for is the
// decompressor's to refuse). Sets *complete to false (and returns ok) while
// `head` is too short to tell.
Status CheckFrameHeader(std::string_view head, uint64_t raw_size, bool* complete);

// Decompresses a frame a piece at a time, in bounded memory: Feed it the
// stored bytes in order; each call appends what it could decompress to
// `out` (at most `out_cap` bytes in all). kCorrupt for a damaged frame, one
// that needs a window past 2^window_log (1 MiB by default: converge writes
// no object frame with more) or bytes after its end.
class StreamDecompressor {
 public:
  explicit StreamDecompressor(int window_log = kObjectWindowLog);
  ~StreamDecompressor();
  StreamDecompressor(const StreamDecompressor&) = delete;
  StreamDecompressor& operator=(const StreamDecompressor&) = delete;
  // Decompresses from `in` (advancing it) into out[*out_len..out_cap).
  Status Feed(std::string_view& in, char* out, size_t out_cap, size_t* out_len);
  bool done() const { return done_; }  // the frame ended
  // Ready for the next frame (keeps the context and its buffers).
  void Reset();

 private:
  void* ctx_;
  bool done_ = false;
};

// Compresses one stream into one zstd frame, piece by piece: what Write and
// Finish make ready goes to the sink as it comes (pieces of up to 128 KiB).
class StreamCompressor {
 public:
  using Sink = std::function<Status(std::string_view)>;
  StreamCompressor(int level, int window_log);
  ~StreamCompressor();
  StreamCompressor(const StreamCompressor&) = delete;
  StreamCompressor& operator=(const StreamCompressor&) = delete;
  Status Write(std::string_view in, const Sink& sink);
  // Hands the sink everything written so far (ends zstd's current block;
  // the frame goes on).
  Status Flush(const Sink& sink);
  // Ends the frame; nothing may be written afterwards.
  Status Finish(const Sink& sink);

 private:
  Status Run(std::string_view in, int mode, const Sink& sink);
  void* ctx_;
  std::string out_;
};

}  // namespace converge

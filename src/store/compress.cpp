#include "store/compress.h"

#include <zstd.h>

#include <memory>

#include "store/memory_budget.h"

namespace converge {

namespace {

// Fast: at level 1 zstd compresses at several hundred MB/s a core, well
// above what hashing leaves; text still shrinks 3-5x.
constexpr int kLevel = 1;
constexpr size_t kSampleBytes = 64 << 10;
constexpr size_t kMinBytes = 64;

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx(ZSTD_createCCtx());
  return ctx.get();
}

ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}

// Compresses `in`; nullopt unless the result is at most 90 % of `in`, or
// when the memory budget has no room for the output buffer.
std::optional<std::string> CompressIfSmaller(std::string_view in) {
  size_t bound = ZSTD_compressBound(in.size());
  if (!MemoryBudget::Global().TryTake(bound)) return std::nullopt;
  std::string out(bound, '\0');
  size_t n = ZSTD_compressCCtx(ThreadCCtx(), out.data(), out.size(), in.data(), in.size(), kLevel);
  MemoryBudget::Global().Give(bound);
  if (ZSTD_isError(n) || n > in.size() - in.size() / 10) return std::nullopt;
  out.resize(n);
  out.shrink_to_fit();
  return out;
}

}  // namespace

std::optional<std::string> CompressForStorage(std::string_view raw) {
  if (raw.size() < kMinBytes || raw.size() > kMaxCompressedObject) return std::nullopt;
  if (raw.size() > 2 * kSampleBytes && !CompressIfSmaller(raw.substr(0, kSampleBytes)))
    return std::nullopt;
  return CompressIfSmaller(raw);
}

Status DecompressStored(std::string_view frame, char* out, uint64_t raw_size) {
  if (raw_size > kMaxCompressedObject)
    return Corrupt("a compressed object claims " + std::to_string(raw_size) +
                   " bytes, more than any converge stores compressed");
  unsigned long long claimed = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (claimed != raw_size) return Corrupt("its compressed frame is damaged or of another size");
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), out, raw_size, frame.data(), frame.size());
  if (ZSTD_isError(n))
    return Corrupt(std::string("its compressed frame is damaged (") + ZSTD_getErrorName(n) + ")");
  if (n != raw_size) return Corrupt("its compressed frame holds another number of bytes");
  return Status::Ok();
}

}  // namespace converge

namespace converge {

StreamDecompressor::StreamDecompressor() : ctx_(ZSTD_createDCtx()) {
  // Level 1 frames of at most 8 MiB use a window of at most 512 KiB; a frame
  // asking for more is not one of ours.
  ZSTD_DCtx_setParameter(static_cast<ZSTD_DCtx*>(ctx_), ZSTD_d_windowLogMax, 20);
}

StreamDecompressor::~StreamDecompressor() {
  ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(ctx_));
}

Status StreamDecompressor::Feed(std::string_view& in, char* out, size_t out_cap, size_t* out_len) {
  if (!ctx_) return Internal("no zstd decompression context");
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  ZSTD_outBuffer ob{out, out_cap, *out_len};
  while (ob.pos < ob.size && (ib.pos < ib.size || !done_)) {
    if (done_) return Corrupt("its compressed frame is followed by other bytes");
    size_t r = ZSTD_decompressStream(static_cast<ZSTD_DCtx*>(ctx_), &ob, &ib);
    if (ZSTD_isError(r))
      return Corrupt(std::string("its compressed frame is damaged (") + ZSTD_getErrorName(r) + ")");
    if (r == 0) done_ = true;
    if (ib.pos == ib.size && ob.pos < ob.size && !done_) break;  // needs more input
  }
  in.remove_prefix(ib.pos);
  *out_len = ob.pos;
  return Status::Ok();
}

}  // namespace converge

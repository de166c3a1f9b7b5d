#include "store/compress.h"

// For ZSTD_initStaticCCtx and ZSTD_estimateCCtxSize: zstd's experimental
// API, exported by Debian's shared libzstd 1.5.4 (unchanged since 1.3).
#define ZSTD_STATIC_LINKING_ONLY
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

// The thread's context for CompressForStorage, its workspace made once at
// the size level 1 needs for any object: a context zstd sizes itself is
// reallocated as objects grow and shrunk again after 128 small ones, and
// every new mapping costs its page faults again (~20 us each on a VM; the
// churn was a tenth of a 1 % re-snap's CPU). Null when it cannot be made.
ZSTD_CCtx* ThreadCCtx() {
  struct Static {
    std::unique_ptr<char[]> space;
    ZSTD_CCtx* ctx = nullptr;
    Static() {
      size_t n = ZSTD_estimateCCtxSize(kLevel);
      space = std::make_unique_for_overwrite<char[]>(n);
      ctx = ZSTD_initStaticCCtx(space.get(), n);
    }
  };
  thread_local Static c;
  return c.ctx;
}

// Where the thread compresses an object of up to kScratchBytes (a
// manifest, most source files; its frame is then copied out): kept, like
// the context, so that compressing one small object after another touches
// no new memory. Larger ones get a buffer of their own.
constexpr size_t kScratchBytes = 256u << 10;
char* ThreadScratch() {
  thread_local std::unique_ptr<char[]> scratch =
      std::make_unique_for_overwrite<char[]>(ZSTD_COMPRESSBOUND(kScratchBytes));
  return scratch.get();
}

ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}

// Compresses `in`; nullopt unless the result is at most 90 % of `in`, or
// when the memory budget has no room for the output buffer.
std::optional<std::string> CompressIfSmaller(std::string_view in) {
  ZSTD_CCtx* ctx = ThreadCCtx();
  if (!ctx) return std::nullopt;
  size_t bound = ZSTD_compressBound(in.size());
  // Counted either way, so that past the budget nothing is compressed.
  if (!MemoryBudget::Global().TryTake(bound)) return std::nullopt;
  // Not zeroed: zstd writes what it returns, and only that is kept.
  std::unique_ptr<char[]> own;
  if (in.size() > kScratchBytes) own = std::make_unique_for_overwrite<char[]>(bound);
  char* out = own ? own.get() : ThreadScratch();
  size_t n = ZSTD_compressCCtx(ctx, out, bound, in.data(), in.size(), kLevel);
  MemoryBudget::Global().Give(bound);
  if (ZSTD_isError(n) || n > in.size() - in.size() / 10) return std::nullopt;
  return std::string(out, n);
}

}  // namespace

std::optional<std::string> CompressForStorage(std::string_view raw) {
  if (raw.size() < kMinBytes || raw.size() > kMaxCompressedObject) return std::nullopt;
  if (raw.size() > 2 * kSampleBytes && !CompressIfSmaller(raw.substr(0, kSampleBytes)))
    return std::nullopt;
  return CompressIfSmaller(raw);
}

std::optional<std::string> CompressAgainst(std::string_view raw, std::string_view base) {
  if (raw.size() > kMaxCompressedObject || base.size() > kMaxCompressedObject) return std::nullopt;
  size_t bound = ZSTD_compressBound(raw.size());
  if (!MemoryBudget::Global().TryTake(bound)) return std::nullopt;
  auto out = std::make_unique_for_overwrite<char[]>(bound);
  // A context of its own: the prefix and the parameters are set per call,
  // and the thread's storage context keeps its simple one-call settings.
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx(ZSTD_createCCtx());
  ZSTD_CCtx* c = ctx.get();
  ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
  // Level 1: what an object shares with its base (a changed file, a
  // directory with a changed entry) is long runs, which the fastest match
  // search finds too: on the bench's 1 % publish its frames were no larger
  // than level 3's (195 against 202 KiB in all on the large corpus), made in
  // less time. The window (reduced by zstd to what base and object need)
  // reaches the start of the base, whatever its size.
  size_t n = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
  if (!ZSTD_isError(n)) n = ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, kDeltaWindowLog);
  if (!ZSTD_isError(n)) n = ZSTD_CCtx_refPrefix(c, base.data(), base.size());
  if (!ZSTD_isError(n)) n = ZSTD_compress2(c, out.get(), bound, raw.data(), raw.size());
  MemoryBudget::Global().Give(bound);
  if (ZSTD_isError(n) || n >= raw.size()) return std::nullopt;
  return std::string(out.get(), n);
}

Status DecompressAgainst(std::string_view frame, std::string_view base, char* out,
                         uint64_t raw_size) {
  bool complete = false;
  RETURN_IF_ERROR(CheckFrameHeader(frame, raw_size, &complete));
  if (!complete) return Corrupt("its compressed frame is cut short");
  ZSTD_DCtx* d = ThreadDCtx();
  ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
  size_t n = ZSTD_DCtx_refPrefix(d, base.data(), base.size());
  if (!ZSTD_isError(n)) n = ZSTD_decompressDCtx(d, out, raw_size, frame.data(), frame.size());
  ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);  // forget the prefix
  if (ZSTD_isError(n))
    return Corrupt(std::string("its compressed frame is damaged, or made against other bytes (") +
                   ZSTD_getErrorName(n) + ")");
  if (n != raw_size) return Corrupt("its compressed frame holds another number of bytes");
  return Status::Ok();
}

Status CheckFrameHeader(std::string_view head, uint64_t raw_size, bool* complete) {
  *complete = false;
  // The frame format (RFC 8878) rather than zstd's unstable API: the magic,
  // then the header's length from its descriptor byte, then the size it
  // declares (the window it asks for is the decompressor's to limit).
  static constexpr unsigned char kMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};  // ZSTD_MAGICNUMBER, LE
  for (size_t i = 0; i < head.size() && i < 4; i++)
    if (static_cast<unsigned char>(head[i]) != kMagic[i])
      return Corrupt("its bytes are not a zstd frame");
  if (head.size() < 5) return Status::Ok();
  unsigned fhd = static_cast<unsigned char>(head[4]);
  bool single = fhd & 0x20;
  static constexpr size_t kDictIdBytes[4] = {0, 1, 2, 4};
  static constexpr size_t kSizeBytes[4] = {0, 2, 4, 8};
  size_t header = 5 + (single ? 0 : 1) + kDictIdBytes[fhd & 3] +
                  ((fhd >> 6) == 0 ? (single ? 1 : 0) : kSizeBytes[fhd >> 6]);
  if ((fhd & 3) != 0) return Corrupt("its compressed frame names a dictionary");
  if (head.size() < header) return Status::Ok();
  *complete = true;
  unsigned long long declared = ZSTD_getFrameContentSize(head.data(), header);
  if (declared == ZSTD_CONTENTSIZE_ERROR) return Corrupt("its bytes are not a zstd frame");
  if (declared != raw_size)
    return Corrupt("its compressed frame declares " +
                   (declared == ZSTD_CONTENTSIZE_UNKNOWN ? std::string("no size")
                                                         : std::to_string(declared) + " bytes") +
                   ", not the " + std::to_string(raw_size) + " its header gives");
  return Status::Ok();
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

StreamDecompressor::StreamDecompressor(int window_log) : ctx_(ZSTD_createDCtx()) {
  // Level 1 frames of at most 8 MiB use a window of at most 512 KiB; a frame
  // asking for more than the caller's limit is not one of ours.
  ZSTD_DCtx_setParameter(static_cast<ZSTD_DCtx*>(ctx_), ZSTD_d_windowLogMax, window_log);
}

void StreamDecompressor::Reset() {
  if (ctx_) ZSTD_DCtx_reset(static_cast<ZSTD_DCtx*>(ctx_), ZSTD_reset_session_only);
  done_ = false;
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

StreamCompressor::StreamCompressor(int level, int window_log) : ctx_(ZSTD_createCCtx()) {
  auto* c = static_cast<ZSTD_CCtx*>(ctx_);
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log);
  out_.resize(ZSTD_CStreamOutSize());
}

StreamCompressor::~StreamCompressor() {
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(ctx_));
}

Status StreamCompressor::Run(std::string_view in, int mode, const Sink& sink) {
  if (!ctx_) return Internal("no zstd compression context");
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  for (;;) {
    ZSTD_outBuffer ob{out_.data(), out_.size(), 0};
    size_t consumed = ib.pos;
    size_t left = ZSTD_compressStream2(static_cast<ZSTD_CCtx*>(ctx_), &ob, &ib,
                                       static_cast<ZSTD_EndDirective>(mode));
    if (ZSTD_isError(left)) return Internal(std::string("zstd: ") + ZSTD_getErrorName(left));
    if (ob.pos > 0) RETURN_IF_ERROR(sink(std::string_view(out_.data(), ob.pos)));
    bool finished = mode == ZSTD_e_continue ? ib.pos == ib.size : left == 0;
    if (finished) return Status::Ok();
    // zstd promises progress with room to write: never spin if it makes none.
    if (ob.pos == 0 && ib.pos == consumed) return Internal("zstd made no progress compressing");
  }
}

Status StreamCompressor::Write(std::string_view in, const Sink& sink) {
  return in.empty() ? Status::Ok() : Run(in, ZSTD_e_continue, sink);
}

Status StreamCompressor::Flush(const Sink& sink) {
  return Run({}, ZSTD_e_flush, sink);
}

Status StreamCompressor::Finish(const Sink& sink) {
  return Run({}, ZSTD_e_end, sink);
}

}  // namespace converge

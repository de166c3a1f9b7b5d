// PackEncoder (api/pack.h): how each object goes into a pack.
#include "api/pack.h"
#include "store/memory_budget.h"

namespace converge {

namespace {

// At rest, objects this small are never compressed (store/compress.cpp):
// not worth a try here either.
constexpr uint64_t kSmallestWorthCompressing = 64;

// A stream's compressor hands out bytes a block (128 KiB of input) at a
// time. Small objects (a 1 % publish: hundreds of deltas of ~100 bytes)
// would then reach the receiver only when the encoder is nearly done, and
// it would check them after the client's work instead of beside it: so what
// has waited this long is flushed after each object. A flush ends a block,
// not the frame (the window stays); a big publish's output comes by itself
// far more often than this.
constexpr auto kFlushAfter = std::chrono::milliseconds(5);

}  // namespace

PackEncoder::PackEncoder(const ObjectStore& store, Options options, Sink sink)
    : store_(store), options_(options), sink_(std::move(sink)) {}

PackEncoder::~PackEncoder() = default;

Status PackEncoder::ToSink(std::string_view bytes) {
  out_ += bytes.size();
  last_out_ = std::chrono::steady_clock::now();
  return sink_(bytes);
}

Status PackEncoder::Emit(std::string_view bytes) {
  if (current_) current_->encoded += bytes.size();
  if (stream_) return stream_->Write(bytes, [this](std::string_view b) { return ToSink(b); });
  return ToSink(bytes);
}

Status PackEncoder::FlushIfIdle() {
  if (!stream_ || std::chrono::steady_clock::now() - last_out_ < kFlushAfter) return Status::Ok();
  return stream_->Flush([this](std::string_view b) { return ToSink(b); });
}

Status PackEncoder::Start() {
  if (options_.version < 2) return ToSink(kPackMagic);
  std::string head(kPackMagicV2);
  head.push_back(options_.stream ? '\1' : '\0');
  RETURN_IF_ERROR(ToSink(head));
  if (options_.stream)
    stream_ = std::make_unique<StreamCompressor>(kPackStreamLevel, kPackStreamWindowLog);
  return Status::Ok();
}

Status PackEncoder::Finish() {
  current_ = nullptr;
  if (options_.version < 2) return ToSink(kPackEnd);
  RETURN_IF_ERROR(Emit(std::string_view("\0", 1)));
  if (!stream_) return Status::Ok();
  return stream_->Finish([this](std::string_view b) { return ToSink(b); });
}

Status PackEncoder::Add(ObjectKind kind, const ObjectId& id, uint64_t size,
                        const std::optional<ObjectId>& base) {
  current_ = &stats_[static_cast<size_t>(kind)];
  current_->objects++;
  current_->bytes += size;
  if (options_.version < 2)
    return WritePackObject(store_, kind, id, size, [this](std::string_view b) { return Emit(b); });
  RETURN_IF_ERROR(AddV2(kind, id, size, base));
  return FlushIfIdle();
}

Status PackEncoder::AddV2(ObjectKind kind, const ObjectId& id, uint64_t size,
                          const std::optional<ObjectId>& base) {
  if (base && size <= kMaxCompressedObject) {
    // Against a base (a changed file, a directory with a changed entry): both
    // read whole, which is what a frame against a base needs anyway.
    ASSIGN_OR_RETURN(std::string raw, store_.Read(id, kMaxCompressedObject));
    if (raw.size() != size)
      return Corrupt("object " + id.hex() + " holds " + std::to_string(raw.size()) +
                     " bytes on disk, not the " + std::to_string(size) + " recorded");
    Result<std::string> base_raw = store_.Read(*base, kMaxCompressedObject);
    return EmitWhole(kind, id, raw, base, base_raw.ok() ? *base_raw : std::string_view());
  }
  if (stream_) return EmitStreamed(kind, id, size, false);
  // A loose copy was never tried for compression: try it, in memory when
  // the budget allows. A packed one was, when it was stored.
  Result<ObjectStore::Location> where = store_.Locate(id);
  if (where.ok() && !where->packed && size >= kSmallestWorthCompressing &&
      size <= kMaxCompressedObject && MemoryBudget::Global().TryTake(size)) {
    Result<std::string> raw = store_.Read(id, kMaxCompressedObject);
    Status st = raw.ok() && raw->size() != size ? Corrupt("object " + id.hex() +
                                                          " holds another number of bytes on disk "
                                                          "than recorded")
                                                : raw.status();
    if (st.ok()) st = EmitWhole(kind, id, *raw, std::nullopt, {});
    MemoryBudget::Global().Give(size);
    return st;
  }
  return EmitStreamed(kind, id, size, true);
}

// One object held whole: against its base, compressed or raw, whichever is
// smallest (in a stream, raw rather than a frame: the stream compresses it
// with what came before). In a stream its frame would not be sent, so it is
// not made either: what the delta is weighed against is the object's size
// compressed at rest, or its raw size (compressing it again here was a
// quarter of a 1 % publish's client time).
Status PackEncoder::EmitWhole(ObjectKind kind, const ObjectId& id, std::string_view raw,
                              const std::optional<ObjectId>& base, std::string_view base_raw) {
  std::optional<std::string> frame;
  size_t plain = raw.size();
  if (!stream_) {
    frame = CompressForStorage(raw);
    if (frame) plain = frame->size();
  } else if (Result<ObjectStore::Location> at = store_.Locate(id); at.ok() && at->compressed) {
    plain = static_cast<size_t>(at->length);
  }
  std::optional<std::string> delta;
  if (base && !base_raw.empty()) delta = CompressAgainst(raw, base_raw);
  EncodedObject o{kind, id, raw.size(), Encoding::kRaw, raw.size(), ObjectId()};
  std::string_view bytes = raw;
  if (delta && delta->size() < plain) {
    o.encoding = Encoding::kZstdDelta;
    o.base = *base;
    bytes = *delta;
  } else if (frame && !stream_) {
    o.encoding = Encoding::kZstd;
    bytes = *frame;
  }
  o.stored = bytes.size();
  RETURN_IF_ERROR(Emit(PackObjectHeaderV2(o)));
  return Emit(bytes);
}

// One object in pieces, as the store hands it out: its stored frame when
// `as_stored` and it is stored compressed, else its raw bytes.
Status PackEncoder::EmitStreamed(ObjectKind kind, const ObjectId& id, uint64_t size,
                                 bool as_stored) {
  bool started = false;
  uint64_t expect = size, sent = 0;
  auto start = [&](bool zstd, uint64_t stored) -> Status {
    started = true;
    EncodedObject o{kind, id, size, zstd ? Encoding::kZstd : Encoding::kRaw, size, ObjectId()};
    if (zstd) o.stored = expect = stored;
    return Emit(PackObjectHeaderV2(o));
  };
  auto piece = [&](std::string_view p) -> Status {
    sent += p.size();
    if (sent > expect) return Corrupt("object " + id.hex() + " is larger on disk than recorded");
    return Emit(p);
  };
  if (as_stored) {
    RETURN_IF_ERROR(
        store_.StreamStored(id, [&](const ObjectStore::StoredForm& f, std::string_view p) {
          if (!started) RETURN_IF_ERROR(start(f.zstd, f.stored));
          return piece(p);
        }));
  } else {
    RETURN_IF_ERROR(store_.Stream(id, [&](std::string_view p) {
      if (!started) RETURN_IF_ERROR(start(false, size));
      return piece(p);
    }));
  }
  if (!started) RETURN_IF_ERROR(start(false, size));  // an empty object
  if (sent != expect) return Corrupt("object " + id.hex() + " is shorter on disk than recorded");
  return Status::Ok();
}

}  // namespace converge

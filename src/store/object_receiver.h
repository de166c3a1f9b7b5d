// Receiving a stream of objects (a pack's, docs/pack.md) into a store: the
// one receiver behind the server's pack intake (server/pack_transfer.cpp)
// and the client's download (client/download.cpp).
//
// Layering: the pack's framing (the "CVGPACK1" and "CVGPACK2" formats) is
// read by api/pack.h's PackParser, which calls an ObjectSink; ObjectSink and
// the receiver live here in store/ so both roles share them without store/
// depending on the wire format (store/ may not include api/). How one
// object's bytes are encoded (raw, a zstd frame, a frame against a base) is
// the receiver's business, so that whatever the framing, every object is
// decompressed, bounded and hash-checked by this one piece of code.
//
// The receiver streams each object into an ObjectWriter (in memory up to
// 8 MiB, a temp file past that: memory stays flat for a blob of any size),
// keeps a manifest's, snap's or
// chunk list's bytes in memory for checking (refusing one over its limit
// before a byte of it is read), verifies that the bytes hash to the ID, and
// hands each verified object, with its writer, to the role. Nothing becomes
// visible in the store unless the role installs it or adds it to a write
// batch that commits; an object cut short (a truncated pack, an error) leaves
// no file behind.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/cas.h"
#include "store/compress.h"
#include "store/memory_budget.h"
#include "store/objects.h"

namespace converge {

// How an object's bytes travel in a pack (docs/pack.md, "Version 2").
enum class Encoding : uint8_t {
  kRaw = 0,        // the object's bytes
  kZstd = 1,       // one zstd frame of them (window at most 1 MiB)
  kZstdDelta = 2,  // one zstd frame of them made with a base object's bytes as its prefix
};

// One object's header in a pack.
struct EncodedObject {
  ObjectKind kind = ObjectKind::kBlob;
  ObjectId id;
  uint64_t size = 0;  // the object's bytes
  Encoding encoding = Encoding::kRaw;
  uint64_t stored = 0;  // the bytes Data delivers: `size` for kRaw
  ObjectId base;        // kZstdDelta: the base object, of the same kind
};

// The calls a stream of objects makes, in order, for each object: Begin (its
// raw bytes follow) or BeginEncoded, then Data (zero or more times, `size`
// or `stored` bytes in all), End. An error from any of them stops the stream
// with that error.
class ObjectSink {
 public:
  virtual ~ObjectSink() = default;
  virtual Status Begin(ObjectKind kind, const ObjectId& id, uint64_t size) = 0;
  // An object sent compressed. The default refuses it (kInvalid).
  virtual Status BeginEncoded(const EncodedObject& o);
  virtual Status Data(std::string_view bytes) = 0;
  virtual Status End() = 0;
};

// A whole object whose bytes hash to its ID.
struct ReceivedObject {
  ObjectKind kind;
  ObjectId id;
  uint64_t size = 0;
  std::string bytes;  // a manifest's, snap's or chunk list's bytes; empty for a blob
  ObjectWriter file;  // finished: install it, add it to a WriteBatch, or drop it
  // The zstd frame it came in (Encoding::kZstd), verified and fit to keep
  // as it is (AddReceived does); empty when it came otherwise, or when the
  // memory budget had no room to hold it.
  BudgetedBytes frame;
};

// Adds a received object to `batch`: its frame as it came when there is one
// (WriteBatch::AddFrame), else its file (WriteBatch::Add, which compresses
// it when that pays).
Status AddReceived(WriteBatch& batch, ReceivedObject&& object);

class ObjectReceiver : public ObjectSink {
 public:
  // Why the receiver itself refused an object.
  enum class Refusal {
    kTooLarge,  // a manifest, snap or chunk list over the metadata limit (kTooLarge)
    kBadHash,   // its bytes do not hash to its ID (kCorrupt), or its temp file failed
    // Its encoding is broken (kCorrupt): a frame that is damaged, is not one
    // zstd frame declaring the object's size, inflates past that size or
    // stops short of it, or asks for too large a window; or its base cannot
    // be had (the role's Base error).
    kBadEncoding,
  };

  // What a role (server intake, client download) adds.
  class Role {
   public:
    virtual ~Role() = default;
    // Before any byte of an object: an error refuses it (and stops the
    // stream). The default accepts everything.
    virtual Status Accept(ObjectKind kind, const ObjectId& id, uint64_t size);
    // The status to stop with when the receiver refuses an object; `why`
    // names the object and the cause. The default returns `why`.
    virtual Status Refused(Refusal refusal, ObjectKind kind, const ObjectId& id, uint64_t size,
                           const Status& why);
    // `n` more bytes of the current object arrived (progress; for an encoded
    // object, bytes as they came, not decompressed).
    virtual void Received(size_t n);
    // The bytes of `base`, for an object sent against it (Encoding::
    // kZstdDelta): the role decides whether the sender may use it (the
    // server: the repo holds it) and reads it verified, at most
    // kMaxCompressedObject bytes. The default refuses (kCorrupt).
    virtual Result<std::string> Base(ObjectKind kind, const ObjectId& base);
    // A verified object: the role checks what it must (references, sizes)
    // and keeps its file, or fails, which stops the stream.
    virtual Status Take(ReceivedObject&& object) = 0;
  };

  // `max_metadata_bytes`: the largest manifest, snap or chunk list taken.
  ObjectReceiver(const ObjectStore& store, Role& role, uint64_t max_metadata_bytes)
      : store_(store), role_(role), max_metadata_(max_metadata_bytes) {}

  // ObjectSink. Begin fails with the role's Accept error, or the refusal
  // (kTooLarge) of a metadata object over the limit; Data with the store's
  // kIo (a temp file past 8 MiB); End with the
  // refusal (kCorrupt) of bytes that do not hash to the ID, or Take's error.
  // An encoded object is decompressed as it arrives (a frame against a base,
  // whole at its end), in bounded memory, and refused (kBadEncoding) the
  // moment its frame is found broken: never more than its declared size of
  // it is made. A frame against a base needs the base, the frame and the
  // object in memory at once: kUnavailable when the memory budget has no
  // room for them.
  Status Begin(ObjectKind kind, const ObjectId& id, uint64_t size) override;
  Status BeginEncoded(const EncodedObject& o) override;
  Status Data(std::string_view bytes) override;
  Status End() override;

  uint64_t objects() const { return objects_; }  // verified and taken
  uint64_t bytes() const { return bytes_; }      // received, of every object begun (as they came)
  uint64_t object_bytes() const { return made_total_; }  // the same objects' own bytes

 private:
  const ObjectStore& store_;
  Role& role_;
  uint64_t max_metadata_;
  Status Decoded(std::string_view raw);
  Status DataZstd(std::string_view piece);
  Status EndDelta();
  Status BadEncoding(const std::string& why);

  ObjectKind kind_ = ObjectKind::kBlob;
  ObjectId id_;
  uint64_t size_ = 0;
  Encoding encoding_ = Encoding::kRaw;
  uint64_t stored_ = 0;
  std::string buf_;
  std::optional<ObjectWriter> writer_;
  uint64_t objects_ = 0, bytes_ = 0, made_total_ = 0;
  // An encoded object's state: raw bytes made so far, its frame's header
  // (until complete) and, kept when the budget allows or needed (a delta),
  // the whole frame; a delta's base.
  uint64_t made_ = 0;
  std::string head_;
  bool head_checked_ = false;
  BudgetedBytes frame_, base_;
  std::unique_ptr<StreamDecompressor> decoder_;  // made once, reused
  std::unique_ptr<char[]> out_;                  // its output piece
};

}  // namespace converge

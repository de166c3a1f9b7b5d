// Receiving a stream of objects (a pack's, docs/pack.md) into a store: the
// one receiver behind the server's pack intake (server/pack_transfer.cpp)
// and the client's download (client/download.cpp).
//
// Layering: the pack's framing (the "CVGPACK1" text format) is read by
// api/pack.h's PackParser, which calls an ObjectSink; ObjectSink and the
// receiver live here in store/ so both roles share them without store/
// depending on the wire format (store/ may not include api/).
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
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/cas.h"
#include "store/objects.h"

namespace converge {

// The calls a stream of objects makes, in order, for each object: Begin,
// Data (zero or more times, `size` bytes in all), End. An error from any of
// them stops the stream with that error.
class ObjectSink {
 public:
  virtual ~ObjectSink() = default;
  virtual Status Begin(ObjectKind kind, const ObjectId& id, uint64_t size) = 0;
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
};

class ObjectReceiver : public ObjectSink {
 public:
  // Why the receiver itself refused an object.
  enum class Refusal {
    kTooLarge,  // a manifest, snap or chunk list over the metadata limit (kTooLarge)
    kBadHash,   // its bytes do not hash to its ID (kCorrupt), or its temp file failed
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
    // `n` more bytes of the current object arrived (progress).
    virtual void Received(size_t n);
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
  Status Begin(ObjectKind kind, const ObjectId& id, uint64_t size) override;
  Status Data(std::string_view bytes) override;
  Status End() override;

  uint64_t objects() const { return objects_; }  // verified and taken
  uint64_t bytes() const { return bytes_; }      // received, of every object begun

 private:
  const ObjectStore& store_;
  Role& role_;
  uint64_t max_metadata_;
  ObjectKind kind_ = ObjectKind::kBlob;
  ObjectId id_;
  uint64_t size_ = 0;
  std::string buf_;
  std::optional<ObjectWriter> writer_;
  uint64_t objects_ = 0, bytes_ = 0;
};

}  // namespace converge

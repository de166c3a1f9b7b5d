// The pack: many objects in one HTTP body, streamed both ways (docs/pack.md).
//
//   "CVGPACK1\n"
//   then per object:  "<kind> <64-hex id> <size>\n" followed by exactly <size> bytes
//   then:             "end\n"
//
// kind is blob, manifest, snap or chunklist. Objects of a pack sent to the
// server come leaves first, so each object's references precede it or are
// already stored. A body that stops before "end\n" is truncated and invalid.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/cas.h"
#include "store/object_receiver.h"
#include "store/objects.h"

namespace converge {

inline constexpr std::string_view kPackMagic = "CVGPACK1\n";
inline constexpr std::string_view kPackEnd = "end\n";
inline constexpr const char* kPackContentType = "application/x-converge-pack";

std::string PackObjectHeader(ObjectKind kind, const ObjectId& id, uint64_t size);

// Writes one object of a pack to `sink`: its header and its `size` bytes read
// from `store` (the one writer of a pack's objects, for the client's upload
// and the server's fetch answer). Fails with the store's error (kNotFound,
// kIo; kCorrupt when the bytes do not hash to `id`), the sink's, or kCorrupt
// when the file holds more or fewer than `size` bytes (recorded elsewhere),
// which would break the framing.
Status WritePackObject(const ObjectStore& store, ObjectKind kind, const ObjectId& id, uint64_t size,
                       const std::function<Status(std::string_view)>& sink);

struct PackLimits {
  uint64_t max_object_size = uint64_t{8} << 30;
  uint64_t max_objects = 1000000;
};

// A push parser: feed it the body in pieces of any size; it calls the
// handler for each object's start, bytes and end. A handler error stops it.
// The handler is a store ObjectSink, so store/object_receiver.h's
// ObjectReceiver (what both the server and the client receive packs with)
// plugs in directly without store/ knowing the pack's framing.
class PackParser {
 public:
  using Handler = ObjectSink;

  PackParser(Handler& handler, PackLimits limits = {}) : handler_(handler), limits_(limits) {}

  Status Feed(std::string_view data);
  // Fails unless the whole pack, up to "end\n", has been fed.
  Status Finish() const;
  uint64_t objects() const { return objects_; }

 private:
  Status ParseHeader(const std::string& line);

  enum class State { kMagic, kHeader, kBody, kDone };
  Handler& handler_;
  PackLimits limits_;
  State state_ = State::kMagic;
  std::string line_;
  uint64_t remaining_ = 0;
  uint64_t objects_ = 0;
};

}  // namespace converge

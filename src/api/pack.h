// The pack: many objects in one HTTP body, streamed both ways (docs/pack.md).
//
// Version 1 (text headers, raw bytes):
//   "CVGPACK1\n"
//   then per object:  "<kind> <64-hex id> <size>\n" followed by exactly <size> bytes
//   then:             "end\n"
//
// Version 2 (binary headers; each object raw, a zstd frame, or a zstd frame
// against a base object the receiver holds; optionally the whole body after
// the mode byte one zstd stream):
//   "CVGPACK2\n" u8 mode (0 plain, 1 one zstd stream)
//   then per object:  u8 kind (1-4) | u8 encoding (0-2) | 32-byte id |
//                     uvarint size | [uvarint stored] | [32-byte base] | bytes
//   then:             u8 0
//
// kind is blob, manifest, snap or chunklist. Objects of a pack sent to the
// server come leaves first, so each object's references precede it or are
// already stored. A body that stops before its end is truncated and invalid.
// Which version a peer speaks is negotiated (docs/pack.md, "Versions"):
// a peer that does not say it speaks version 2 is sent version 1.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/cas.h"
#include "store/compress.h"
#include "store/object_receiver.h"
#include "store/objects.h"

namespace converge {

inline constexpr std::string_view kPackMagic = "CVGPACK1\n";
inline constexpr std::string_view kPackMagicV2 = "CVGPACK2\n";
inline constexpr std::string_view kPackEnd = "end\n";
inline constexpr const char* kPackContentType = "application/x-converge-pack";
// The header of a server's objects/missing answer naming the pack versions
// it takes in an upload ("1, 2"); a server without it takes version 1 only.
inline constexpr const char* kPackVersionsHeader = "Converge-Pack-Versions";
inline constexpr const char* kPackVersionsTaken = "1, 2";
// The header of the same answer naming the most objects one upload may hold
// (the server's max_ids_per_request); a server without it is taken to allow
// kPackObjectsUnannounced.
inline constexpr const char* kPackObjectsHeader = "Converge-Pack-Objects";
inline constexpr uint64_t kPackObjectsUnannounced = 20000;
inline constexpr int kNewestPackVersion = 2;
// A version 2 pack sent as one zstd stream: level 3 (fast, and better than
// level 1 at finding what one file repeats of another) with a 2 MiB window
// (what a receiver holds to decompress it).
inline constexpr int kPackStreamLevel = 3;
inline constexpr int kPackStreamWindowLog = 21;
// The longest version 2 object header: kind, encoding, ID, two varints, base.
inline constexpr size_t kMaxV2HeaderBytes = 2 + 32 + 10 + 10 + 32;

// "application/x-converge-pack" (version 1) or with "; version=2".
std::string PackContentType(int version);
// The newest version in a server's Converge-Pack-Versions list that this
// build speaks; 1 when the list is empty or names none.
int PackVersionFromList(std::string_view list);
// The version a fetch answer may use, from the request's Accept header: 2
// when it names application/x-converge-pack with version=2, else 1.
int PackVersionAccepted(std::string_view accept);

std::string PackObjectHeader(ObjectKind kind, const ObjectId& id, uint64_t size);
// A version 2 object header (o.stored and o.base only where the encoding has them).
std::string PackObjectHeaderV2(const EncodedObject& o);
// Parses a version 2 object header at the start of `bytes`: its length, or 0
// when more bytes are needed (then nothing is set). `*end` is set for the end
// mark (a 0 byte). kInvalid for anything else than a canonical header.
Result<size_t> ParsePackObjectHeaderV2(std::string_view bytes, EncodedObject* o, bool* end);

// Writes one object of a version 1 pack to `sink`: its header and its `size`
// bytes read from `store` (the one writer of a pack's objects, for the
// client's upload and the server's fetch answer). Fails with the store's
// error (kNotFound, kIo; kCorrupt when the bytes do not hash to `id`), the
// sink's, or kCorrupt when the file holds more or fewer than `size` bytes
// (recorded elsewhere), which would break the framing.
Status WritePackObject(const ObjectStore& store, ObjectKind kind, const ObjectId& id, uint64_t size,
                       const std::function<Status(std::string_view)>& sink);

// Writes a whole pack of either version, object by object, from a store.
// Version 2 chooses per object (docs/pack.md, "Choosing an encoding"): an
// object given a base the receiver holds goes as a frame against it when
// that is smallest; otherwise, in a plain pack, a copy stored compressed goes
// as its stored frame (not compressed again), a loose one is compressed when
// that pays, anything else goes raw; in a stream every object goes raw (or
// against its base) into the one zstd stream. Memory stays bounded: an object
// goes in pieces unless it is compressed here (at most kMaxCompressedObject).
class PackEncoder {
 public:
  using Sink = std::function<Status(std::string_view)>;
  struct Options {
    int version = kNewestPackVersion;
    bool stream = false;  // version 2 only
  };
  // Per kind: objects, their bytes, and the bytes their records took in the
  // pack (headers included, before a stream's compression).
  struct KindStats {
    uint64_t objects = 0, bytes = 0, encoded = 0;
  };

  PackEncoder(const ObjectStore& store, Options options, Sink sink);
  ~PackEncoder();
  PackEncoder(const PackEncoder&) = delete;
  PackEncoder& operator=(const PackEncoder&) = delete;

  Status Start();
  // `size` is the object's recorded size (kCorrupt when the store's copy has
  // another); `base`, an object of the same kind the receiver holds.
  Status Add(ObjectKind kind, const ObjectId& id, uint64_t size,
             const std::optional<ObjectId>& base = std::nullopt);
  Status Finish();

  const KindStats& stats(ObjectKind kind) const { return stats_[static_cast<size_t>(kind)]; }
  uint64_t bytes_out() const { return out_; }  // what reached the sink

 private:
  Status Emit(std::string_view bytes);
  Status ToSink(std::string_view bytes);
  Status FlushIfIdle();
  Status AddV2(ObjectKind kind, const ObjectId& id, uint64_t size,
               const std::optional<ObjectId>& base);
  Status EmitWhole(ObjectKind kind, const ObjectId& id, std::string_view raw,
                   const std::optional<ObjectId>& base, std::string_view base_raw);
  Status EmitStreamed(ObjectKind kind, const ObjectId& id, uint64_t size, bool as_stored);

  const ObjectStore& store_;
  Options options_;
  Sink sink_;
  std::unique_ptr<StreamCompressor> stream_;
  std::array<KindStats, 4> stats_{};
  KindStats* current_ = nullptr;
  uint64_t out_ = 0;
  std::chrono::steady_clock::time_point last_out_;  // when the sink last got bytes
};

struct PackLimits {
  uint64_t max_object_size = uint64_t{8} << 30;
  uint64_t max_objects = 1000000;
};

// A push parser for either version (the magic says which): feed it the body
// in pieces of any size; it calls the handler for each object's start, bytes
// and end. A handler error stops it. The handler is a store ObjectSink, so
// store/object_receiver.h's ObjectReceiver (what both the server and the
// client receive packs with) plugs in directly without store/ knowing the
// pack's framing; an encoded object's bytes reach it as they came (the
// receiver decompresses them), a stream's decompressed here in pieces of at
// most 256 KiB with at most a 2 MiB window.
class PackParser {
 public:
  using Handler = ObjectSink;

  PackParser(Handler& handler, PackLimits limits = {});
  ~PackParser();

  Status Feed(std::string_view data);
  // Fails unless the whole pack, up to its end, has been fed.
  Status Finish() const;
  uint64_t objects() const { return objects_; }
  int version() const { return version_; }  // 0 until the magic arrived

 private:
  Status ParseHeader(const std::string& line);
  Status FeedV1(std::string_view data);
  Status FeedStream(std::string_view data);
  Status FeedV2(std::string_view data);
  Status StartObject(const EncodedObject& o);
  Status Body(std::string_view& data);

  enum class State { kMagic, kMode, kHeader, kBody, kDone };
  Handler& handler_;
  PackLimits limits_;
  State state_ = State::kMagic;
  int version_ = 0;
  std::string line_;
  uint64_t remaining_ = 0;
  uint64_t objects_ = 0;
  std::unique_ptr<StreamDecompressor> stream_;
  std::unique_ptr<char[]> stream_out_;
};

}  // namespace converge

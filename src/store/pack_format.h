// The on-disk formats of the packed object store (docs/objects.md, "Packs at
// rest"): pack files hold objects one after another, each behind a small
// header; an index file maps object IDs to where they are in one or more
// pack files. Like git's pack and .idx (fanout table, sorted IDs, a
// checksum trailer) and restic's packs (written as one sequential stream,
// never modified, named at random so that any number of writers can add
// packs beside each other); unlike git, one index may cover several pack
// files, so that a write batch larger than a pack still becomes visible at
// one rename: its index's.
//
// Pack file:  "CVGSPK01", then per object a 56-byte header and its stored
//             bytes (raw, or a zstd frame of the raw bytes):
//               u32 'CVGO' | u8 kind | u8 codec | u16 0 | u64 raw size |
//               u64 stored size | 32-byte ID
// Index file: "CVGSIX01" | u32 pack count | u32 0 | u64 entry count |
//             pack names (64 bytes each, NUL-padded) | fanout (256 x u32:
//             entries whose first ID byte is <= i) | entries sorted by ID
//             (64 bytes: ID | u32 pack number | u8 kind | u8 codec | u16 0 |
//             u64 offset of the entry's header | u64 stored size | u64 raw
//             size) | BLAKE2b-256 of everything before it.
// Integers are little-endian. The kind is what the writer said (a hint for
// repack and fsck, never trusted: reads re-hash, decoders check).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "store/hash.h"

namespace converge {

enum class Codec : uint8_t { kRaw = 0, kZstd = 1 };

inline constexpr std::string_view kPackFileMagic = "CVGSPK01";
inline constexpr std::string_view kPackIndexMagic = "CVGSIX01";
inline constexpr uint32_t kPackEntryMarker = 0x4f475643;  // "CVGO"
inline constexpr size_t kPackEntryHeaderBytes = 56;
inline constexpr size_t kPackIndexHeaderBytes = 24;
inline constexpr size_t kPackNameBytes = 64;
inline constexpr size_t kPackIndexEntryBytes = 64;
inline constexpr size_t kPackFanoutBytes = 256 * 4;
inline constexpr uint32_t kMaxPacksPerIndex = 1u << 16;
inline constexpr uint8_t kUnknownKind = 0xff;

// Where one object is, as an index records it.
struct PackEntry {
  ObjectId id;
  uint32_t pack = 0;  // number of the pack file in the index's list
  uint8_t kind = kUnknownKind;
  Codec codec = Codec::kRaw;
  uint64_t offset = 0;  // of the entry's header in the pack file
  uint64_t stored = 0;  // bytes after the header
  uint64_t raw = 0;     // the object's size
};

// The header in front of each object in a pack file.
struct PackEntryHeader {
  uint8_t kind = kUnknownKind;
  Codec codec = Codec::kRaw;
  uint64_t raw = 0;
  uint64_t stored = 0;
  ObjectId id;
};

std::string EncodeEntryHeader(const PackEntryHeader& h);
// Fails (kCorrupt) on a wrong marker, an unknown codec or a nonzero reserved field.
Result<PackEntryHeader> DecodeEntryHeader(std::string_view bytes);

// Whether `name` can be a pack or index file name of ours: [a-z0-9-] with
// the given suffix, at most kPackNameBytes long.
bool IsPackFileName(std::string_view name, std::string_view suffix);

// The bytes of an index over `entries` (sorted here; IDs must be unique)
// naming `packs`.
std::string EncodePackIndex(const std::vector<std::string>& packs, std::vector<PackEntry> entries);
// The same bytes in pieces of about 1 MiB to `sink`, for `count` entries
// already sorted by ID, the i-th being `at(i)`: no copy of the entries and
// no whole index in memory (a batch of a million objects).
Status StreamPackIndex(const std::vector<std::string>& packs, size_t count,
                       const std::function<const PackEntry&(size_t)>& at,
                       const std::function<Status(std::string_view)>& sink);

// Indexes up to this size stay mapped whole (PackIndex::ReleasePages): by
// the fold's geometric rule (store/index_fold.h) all such indexes of a store
// together are a few times this, at most; a 50,000-file tree's is ~3.5 MiB.
inline constexpr uint64_t kIndexKeptMapped = 4 << 20;

// A parsed index: the bytes mapped read-only from its file (or held, for
// one built in memory). Lookups do not check the checksum (reads re-hash
// every object anyway); fsck does, with ChecksumOk.
class PackIndex {
 public:
  ~PackIndex();
  PackIndex(const PackIndex&) = delete;
  PackIndex& operator=(const PackIndex&) = delete;

  // Maps and parses `dir/name`. kNotFound when the file is gone.
  static Result<std::shared_ptr<const PackIndex>> Load(const fs::path& dir,
                                                       const std::string& name);
  // Parses bytes held in memory (tests, fuzzing).
  static Result<std::shared_ptr<const PackIndex>> FromBytes(std::string bytes,
                                                            const std::string& name);

  const std::string& name() const { return name_; }  // the index file's name
  const std::vector<std::string>& packs() const { return packs_; }
  size_t size() const { return count_; }
  PackEntry entry(size_t i) const;
  // The entry number of `id`, if the index has it.
  std::optional<size_t> Find(const ObjectId& id) const;
  // Whether the trailer matches the bytes, and the entries are sorted,
  // unique and name a pack of the list.
  Status CheckWhole() const;
  uint64_t file_bytes() const { return size_; }
  // Drops the pages lookups touched from this process's memory (they stay
  // in the page cache and come back on the next touch): a million lookups
  // touch all 64 MiB of a million-object index, which counts as the
  // process's memory otherwise. An index of at most `keep_up_to` bytes
  // keeps its pages: mapping them again costs a fault each (~40 us on a
  // VM), more than they weigh.
  void ReleasePages(uint64_t keep_up_to = kIndexKeptMapped) const;

 private:
  PackIndex() = default;
  Status Parse();
  const unsigned char* EntryAt(size_t i) const;

  std::string name_;
  std::string held_;     // FromBytes
  void* map_ = nullptr;  // Load
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  std::vector<std::string> packs_;
  const unsigned char* fanout_ = nullptr;
  const unsigned char* entries_ = nullptr;
  size_t count_ = 0;
};

}  // namespace converge

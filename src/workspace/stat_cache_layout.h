// The stat cache file's layout (workspace/stat_cache.h is the contract):
// what the reader (stat_cache.cpp) and the writer (stat_cache_writer.cpp)
// share. Internal to those two files.
//
// Layout, version 1, every
// integer little-endian:
//
//   header, 64 bytes
//     0  magic "CVGSTATC"
//     8  u32 version (1)         12  u32 reserved (0)
//    16  u32 directories         20  u32 entries
//    24  u32 string bytes        28  u32 reserved (0)
//    32  [32] ignore rules ID (IgnoreRulesId) the manifests were made under
//   directory records, 88 bytes each, sorted by path bytewise, unique
//     0  [32] manifest ID (zero when none is recorded)
//    32  u32 path offset         36  u32 path length (into the strings; root "")
//    40  u32 first entry         44  u32 entry count
//    48  u32 flags (1 the manifest ID is recorded, 2 racy, 4 warned)
//    52  u32 st_mode   56  u64 inode   64  i64 mtime ns   72  i64 ctime ns
//    80  u64 size (the directory's own stat fields)
//   entry records, 80 bytes each; a directory's are consecutive, sorted by
//   name bytewise, unique
//     0  [32] ID: a file's blob (its chunk list when chunked), a directory's
//             manifest, zero for a symlink
//    32  u64 size (a symlink: its target's length)
//    40  i64 mtime ns   48  i64 ctime ns   56  u64 inode   64  u32 st_mode
//    68  u32 name offset         72  u32 name length
//    76  u8 kind (0 file, 1 directory, 2 symlink)
//    77  u8 flags (1 chunked, 2 racy, 4 executable)      78  u16 reserved (0)
//   strings: names and directory paths; a symlink's target follows its name
//   trailer: BLAKE2b-256 of every byte before it
//
// Names are stored once, relative to their directory, whose path is stored
// once: the sharing git's index v4 gets from prefix compression, with every
// name still a plain slice of the buffer.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "store/hash.h"

namespace converge::stat_cache_layout {

constexpr char kCacheMagic[8] = {'C', 'V', 'G', 'S', 'T', 'A', 'T', 'C'};
constexpr size_t kCacheHeaderBytes = 64, kDirBytes = 88, kEntryBytes = 80;
constexpr size_t kCacheSumBytes = ObjectId::kBytes;
constexpr uint32_t kDirHasManifest = 1, kDirRacy = 2, kDirWarned = 4;
constexpr uint8_t kEntryChunked = 1, kEntryRacy = 2, kEntryExecutable = 4;

inline uint32_t CacheU32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}
inline uint64_t CacheU64(const char* p) {
  return uint64_t{CacheU32(p)} | uint64_t{CacheU32(p + 4)} << 32;
}
inline ObjectId CacheId(const char* p) {
  std::array<unsigned char, ObjectId::kBytes> b;
  std::memcpy(b.data(), p, b.size());
  return ObjectId(b);
}

inline void CachePutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<char>(v >> (8 * i));
}
inline void CachePutU64(char* p, uint64_t v) {
  CachePutU32(p, static_cast<uint32_t>(v));
  CachePutU32(p + 4, static_cast<uint32_t>(v >> 32));
}
inline void CachePutId(char* p, const ObjectId& id) {
  std::memcpy(p, id.data(), ObjectId::kBytes);
}

}  // namespace converge::stat_cache_layout

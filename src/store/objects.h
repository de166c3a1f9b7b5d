// The object kinds and their canonical encodings (docs/objects.md).
//
// Manifests, snaps and chunk lists are canonical JSON: UTF-8, object keys
// sorted bytewise, no insignificant whitespace, "version": 1. Decode* accepts
// only bytes that re-encode to themselves, so one tree has exactly one ID.
// Decoding validates everything that can be checked without other objects;
// that referenced objects exist is the caller's check.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/hash.h"
#include "store/manifest_decode.h"

namespace converge {

enum class ObjectKind { kBlob, kManifest, kSnap, kChunkList };

const char* KindName(ObjectKind kind);  // "blob", "manifest", "snap", "chunklist"
std::optional<ObjectKind> KindFromName(std::string_view name);
// "blob 3fa4…" (the full ID): how messages name an object.
std::string Describe(ObjectKind kind, const ObjectId& id);

// A name is never empty, ".", "..", and holds no '/' or NUL; it is valid UTF-8;
// and it is not reserved (IsReservedName). Every manifest read or written
// (capture, the server's intake, the client's download, restore, fsck) goes
// through this one check.
Status ValidateName(std::string_view name);

// ".converge" in any ASCII case: the name of a workspace's own directory. No
// snap may hold an entry of that name, of any type at any depth: restored, a
// directory or symlink of that name would make its parent look like a
// workspace whose config (and so whose server) the snap's author chose. Case
// is ignored because some filesystems do (vfat, exfat, ext4 casefold).
bool IsReservedName(std::string_view name);

enum class EntryType { kFile, kDir, kSymlink };

struct Entry {
  std::string name;
  EntryType type = EntryType::kFile;
  // File: its blob, or, when `chunked`, its chunk list. Dir: its manifest.
  ObjectId id;
  bool chunked = false;
  uint64_t size = 0;        // file only
  bool executable = false;  // file only
  std::string target;       // symlink only, stored as is

  bool operator==(const Entry&) const = default;
};

struct Manifest {
  std::vector<Entry> entries;  // sorted by name, bytewise, no duplicates
};

// Sorts entries and checks every name; fails on duplicates.
Status NormalizeManifest(Manifest& m);
std::string EncodeManifest(const Manifest& m);
// DecodeManifest: store/manifest_decode.h (included above).

struct Snap {
  ObjectId root;
  std::string created_at;  // RFC 3339 UTC
  std::string message;
  std::string workspace_id;
  std::optional<ObjectId> parent;
};

std::string EncodeSnap(const Snap& s);
Result<Snap> DecodeSnap(std::string_view bytes);

// A large file split into content-defined chunks, each an ordinary blob. The
// chunk sizes add up to `size`; the file's bytes are the chunks in order.
struct ChunkList {
  struct Chunk {
    ObjectId blob;
    uint64_t size = 0;
  };
  uint64_t size = 0;
  std::vector<Chunk> chunks;
};

std::string EncodeChunkList(const ChunkList& c);
Result<ChunkList> DecodeChunkList(std::string_view bytes);

// A reference from one object to another, with the kind it must have.
struct ObjectRef {
  ObjectKind kind;
  ObjectId id;
  bool operator==(const ObjectRef&) const = default;
};

// The object a manifest entry references: a dir's manifest, a file's blob
// (its chunk list when `chunked`); nullopt for a symlink, which names none.
std::optional<ObjectRef> EntryRef(const Entry& e);

}  // namespace converge

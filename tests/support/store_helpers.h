// Test support: damaging and removing a stored object wherever the store
// keeps it (a loose file or a pack, store/cas.h), the way a failing disk or
// a lost file would, for tests of what reads, fsck and repair then do.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/cas.h"

namespace converge::testing {

// Flips one bit of the byte `offset` bytes into the object's stored bytes
// (its loose file, or its entry in a pack; a packed copy may be stored
// compressed, and then the flip lands in the compressed frame; an offset
// past the stored bytes means their last byte). Same size.
void DamageObject(const ObjectStore& store, const ObjectId& id, uint64_t offset);
void DamageObject(const fs::path& store_root, const ObjectId& id, uint64_t offset);

// Flips a bit in every intact copy of the object (loose and packed; one
// damaged already stays as it is), `offset` bytes into each copy's stored
// bytes (or its last byte, for a shorter one).
void DamageEveryCopy(const fs::path& store_root, const ObjectId& id, uint64_t offset);

// How many copies of the object the store holds (loose file and packed
// entries, quarantined ones not counted).
size_t CopyCount(const fs::path& store_root, const ObjectId& id);

// Whether the store at `store_root` reads the object back as `bytes`.
bool ReadsBackAs(const fs::path& store_root, const ObjectId& id, const std::string& bytes);

// Removes every copy of an object: a loose file is deleted; a pack index
// naming it is replaced by one without it (under a new name, as if the
// object had never been written). `store` then reads the directory again.
void RemoveObject(const ObjectStore& store, const ObjectId& id);
void RemoveObject(const fs::path& store_root, const ObjectId& id);

// Whether the store at `store_root` has some copy of `id` (a fresh look).
bool StoreHas(const fs::path& store_root, const ObjectId& id);

// How many distinct objects the store holds (loose or packed, each once).
size_t ObjectCount(const fs::path& store_root);

// The stored bytes of an object's first copy, as they are on disk.
std::string StoredBytes(const ObjectStore& store, const ObjectId& id);

// How many files in the store's packs/ end with `suffix` (".idx", ".pack").
size_t CountPackFiles(const fs::path& store_root, const std::string& suffix);

// Expects each of `objects` to read back from `store` byte for byte.
void ExpectEveryObject(const ObjectStore& store, const std::vector<std::string>& objects);

// How many files `dir` holds, recursively (0 when it does not exist).
size_t CountFilesUnder(const fs::path& dir);

// Sets the modification time of every file under `dir` (and of `dir`)
// `seconds` into the past: what a store written that long ago looks like to
// a gc's grace period (store/gc.h).
void BackdateFiles(const fs::path& dir, int64_t seconds);

}  // namespace converge::testing

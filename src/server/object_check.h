// What may enter a repo's object set, and the repo's membership records.
//
// A repo holds an object (of a kind) once it was uploaded into that repo; the
// bytes live once in the CAS whoever uploaded them. A manifest, snap or chunk
// list enters only when it decodes canonically and every object it names is
// already held (or arrives earlier in the same pack) with matching sizes, and
// a manifest or snap only when its tree is at most kMaxTreeDepth deep
// (store/tree_depth.h). As every reference is held first, a manifest's depth
// is one more than its deepest subdirectory's recorded depth: the server
// knows every tree's depth without walking it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "api/wire.h"
#include "base/status.h"
#include "store/db.h"
#include "store/object_records.h"
#include "store/object_refs.h"
#include "store/objects.h"

namespace converge {

// The server's wording of the one object check (store/object_refs.h's
// RefsAndSizes and CheckRefs), with `held` saying what the repo holds (and,
// for a pack, what came earlier in it). Checks the bytes of an object of
// `kind` (`id` for messages). A bad or duplicate entry name is kInvalid
// naming the names; a non-canonical object, a missing reference (up to 20
// are named), a size that does not match, a named manifest of unknown depth
// or a tree deeper than kMaxTreeDepth is kCorrupt; an error of `held` is
// returned as is. Returns the object's content_size, and its depth in
// `*depth` when given. Writes nothing, audits nothing.
Result<uint64_t> CheckObject(ObjectKind kind, const ObjectId& id, std::string_view bytes,
                             const HeldLookup& held, uint64_t* depth = nullptr);

// The objects a pack brought before the one being checked, with their sizes.
using EarlierObjects = HeldObjects;

// CheckObject against what repo `repo_id` holds and, for a pack, `earlier`
// (null for a single upload): `earlier` answers first, and what the repo
// holds of the rest is read in one batched query (ObjectRecords::HeldAmong),
// not one query per reference. Runs in the
// caller's transaction, if any.
Result<uint64_t> CheckObjectInRepo(Db& db, int64_t repo_id, ObjectKind kind, const ObjectId& id,
                                   std::string_view bytes, const EarlierObjects* earlier,
                                   uint64_t* depth = nullptr);

// A pack's objects queued for their check (server/pack_transfer.cpp queues
// consecutive manifests, snaps and chunk lists, so that what the repo holds
// of all their references is one batched query rather than one per object).
//
// `base`: for a manifest the client sent against a base manifest the repo
// holds (checked before the bytes were decoded), that base's bytes. A repo
// holds a manifest only with everything under it, of the sizes the manifest
// says, so a file entry identical to the base's entry of the same name (same
// object, same size) is known held without a lookup: a 1 % change of a
// 50,000-file tree sends some 800 manifests naming 45,000 entries, nearly
// all unchanged. Directories are still looked up (their depth is needed).
struct QueuedCheck {
  ObjectKind kind;
  ObjectId id;
  std::string_view bytes;
  std::string_view base;  // empty: none
};
struct QueuedVerdict {
  size_t passed = 0;              // how many passed, from the front of the queue
  std::vector<HeldObject> sizes;  // theirs, in order
  Status failure;                 // why object `passed` failed; ok when all passed
  size_t looked_up = 0;           // references asked of the database
};

// CheckObjectInRepo for each queued object in order, exactly as if one by
// one: object i may name the repo's objects, `*earlier` and the queued
// objects before it (each that passes is added to `*earlier`). Stops at the
// first that fails (QueuedVerdict::failure); an error reading the database
// is the Result's.
Result<QueuedVerdict> CheckQueuedInRepo(Db& db, int64_t repo_id,
                                        const std::vector<QueuedCheck>& queue,
                                        EarlierObjects* earlier);

// Whether repo `repo_id` holds (kind, id), and its sizes (ObjectRecords::Held;
// kept here for the services that ask it).
Result<std::optional<HeldObject>> RepoHolds(Db& db, int64_t repo_id, ObjectKind kind,
                                            const ObjectId& id);

// Calls `fn` once for each distinct (kind, id) of `ids`, in ID order, with
// what the repo holds of it, all read in one snapshot; stops at the first
// error (fn's or the database's kIo); the lookups are batched
// (ObjectRecords::HeldAmong). Like RepoHolds, checks no role and audits
// nothing: the service calling it has authorized the caller.
using HeldVisitor = std::function<Status(ObjectKind kind, const ObjectId& id,
                                         const std::optional<HeldObject>& held)>;
Status ForEachHeld(Db& db, int64_t repo_id, const wire::ObjectIdSet& ids, const HeldVisitor& fn);

// Ok when a request names at most `limit` object IDs (the server's
// max_ids_per_request); kTooLarge saying to split it otherwise.
Status CheckIdCount(const wire::ObjectIdSet& ids, uint64_t limit);

// Parses a 64-hex object ID from a request: kInvalid naming the text otherwise.
Result<ObjectId> ParseObjectId(std::string_view text);

}  // namespace converge

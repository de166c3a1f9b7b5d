// What an object says of the objects it names, and the one check that every
// object it names is present with the size it promises.
//
// Every role that takes objects from elsewhere reads references through
// RefsAndSizes: the server's intake (single objects and packs) and its fsck,
// the client's download and negotiation, and the fsck of a store. The roles
// differ only in where a named object is looked up (what a repo holds, what a
// pack brought earlier, what a download was promised) and in how they word a
// failure; CheckRefs is the check itself.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/objects.h"

namespace converge {

// One reference an object makes, with what it promises of the object named.
struct NamedRef {
  ObjectRef ref;
  std::string name;  // the manifest entry's name; "" for a snap's root or a chunk
  // The content size the naming object promises (a file entry's size, a
  // chunk's size); nullopt where it promises none (a directory, a snap's root).
  std::optional<uint64_t> size;
  bool dir() const { return ref.kind == ObjectKind::kManifest; }
};

struct ObjectFacts {
  std::vector<NamedRef> refs;  // in the object's order (a manifest's: by name)
  // The bytes of the file it holds: a blob's size, a chunk list's total; 0
  // for a manifest or a snap.
  uint64_t content_size = 0;
};

// Decodes `bytes` as `kind` (canonically, store/objects.h) and lists its
// references. Fails with the decoder's kCorrupt when the bytes are not a
// canonical object of that kind. A blob names nothing; its content size is
// its length.
Result<ObjectFacts> RefsAndSizes(ObjectKind kind, std::string_view bytes);

// The objects an object names directly (RefsAndSizes without the sizes).
Result<std::vector<ObjectRef>> ReferencesOf(ObjectKind kind, std::string_view bytes);

// What a checker knows of an object it holds.
struct HeldObject {
  uint64_t size = 0;          // bytes of the object
  uint64_t content_size = 0;  // bytes of the file it holds: a blob's size, a chunk list's total
  // A manifest's tree depth, a snap's root's; 0 for blobs and chunk lists.
  // Nullopt: recorded before depths were, and not measurable (damaged).
  std::optional<uint64_t> depth = 0;
};

// Where a check looks up a named object: nullopt when it is not held. An
// error stops the check with that error.
using HeldLookup =
    std::function<Result<std::optional<HeldObject>>(ObjectKind kind, const ObjectId& id)>;

// What CheckRefs found. ok() when every reference is held with the size
// promised and every named manifest's depth is known.
struct RefReport {
  static constexpr size_t kMaxNamed = 20;  // missing references listed by name
  std::vector<ObjectRef> missing;          // the first kMaxNamed
  size_t missing_total = 0;
  // The first reference whose object holds another size than it promises,
  // and what it holds.
  std::optional<NamedRef> mismatch;
  uint64_t mismatch_holds = 0;
  // A named manifest whose depth is unknown (HeldObject::depth nullopt).
  std::optional<ObjectId> unmeasured;
  // The object's tree depth as its references give it: a manifest is one
  // deeper than its deepest subdirectory, a snap as deep as its root.
  uint64_t depth = 0;

  bool ok() const { return missing_total == 0 && !mismatch && !unmeasured; }
};

// Whether a named object holding `content_size` bytes of file keeps the size
// `promised` for it (NamedRef::size; true when none is promised). CheckRefs
// and the fsck of a store (store/fsck.h) compare sizes only through this.
bool KeepsSize(const std::optional<uint64_t>& promised, uint64_t content_size);

// Looks up every reference of an object of `kind` whose RefsAndSizes are
// `facts`, once each, in order. Returns the lookup's error, if any, else the
// report (the caller words a failure for its role).
Result<RefReport> CheckRefs(ObjectKind kind, const ObjectFacts& facts, const HeldLookup& held);

}  // namespace converge

// Integrity checks of an object store, shared by `converge fsck` (a
// workspace) and `converge serve --fsck` (a server's data dir).
//
// Two passes. The census re-hashes every copy of every object on all cores
// (each loose file, each entry of each pack index), checks the pack indexes
// and packs themselves, and notes what else lies in objects/ and packs/. The
// closure walk then follows references from
// roots (snaps, manifests): every object named must be present, intact, decode
// as the kind it is named as, and a file entry's size must match its blob or
// chunk list. Findings go into an FsckReport; a failing Status from these
// functions means the check itself could not run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/cas.h"
#include "store/objects.h"
#include "store/tree_depth.h"

namespace converge {

struct FsckProblem {
  std::string subject;   // "blob 3fa4...", "snap 9c1e... (the head)", or a path
  std::string problem;   // what is wrong
  bool warning = false;  // loses nothing: a leftover temp file, a stale cache entry
};

struct FsckReport {
  uint64_t objects_checked = 0;
  uint64_t bytes_checked = 0;
  std::vector<FsckProblem> problems;
  std::vector<std::string> fixed;  // what --fix did

  void Error(std::string subject, std::string problem) {
    problems.push_back({std::move(subject), std::move(problem), false});
  }
  void Warn(std::string subject, std::string problem) {
    problems.push_back({std::move(subject), std::move(problem), true});
  }
  size_t errors() const;
  bool ok() const { return errors() == 0; }
};

// What the census found on disk.
struct ObjectCensus {
  std::unordered_map<ObjectId, uint64_t> sizes;  // intact objects and their sizes
  std::unordered_set<ObjectId> damaged;          // no intact copy: already reported
  std::unordered_set<ObjectId> shadowed;         // a damaged copy beside an intact one

  // The size of an intact object; one written after the census is looked up.
  std::optional<uint64_t> SizeOf(const ObjectStore& store, const ObjectId& id) const;
};

// Re-hashes every copy of every object on all cores. An object none of
// whose copies is intact is an error (each damaged copy named); a damaged
// copy beside an intact one is a warning (the fix sets it aside). A pack
// index that is unreadable, fails its checksum or names a missing pack is an
// error; a file objects/ or packs/ should not hold, and objects in a pack
// that no index names, are warnings.
Result<ObjectCensus> TakeCensus(const ObjectStore& store, FsckReport& report);

// Reports temp files as leftovers (warnings, followed by `hint`). When
// `remove`, deletes those at least `remove_age_seconds` old instead: younger
// ones may belong to a writer still running.
void CheckTemps(const std::vector<TempFile>& temps, bool remove, int64_t remove_age_seconds,
                const std::string& hint, FsckReport& report);

// Follows references from roots, checking each object once. A tree deeper
// than kMaxTreeDepth is an error (nothing can restore it); the walk does not
// go past the limit, so its memory stays bounded.
class ClosureCheck {
 public:
  ClosureCheck(const ObjectStore& store, const ObjectCensus& census, FsckReport& report)
      : store_(store), census_(census), report_(report), reader_(store), depth_(reader_) {}

  // Checks (kind, id) and everything under it. `label` says what needs the
  // root, for problems ("the head", "publication 1a2b..."). False when
  // anything under it is missing, damaged or inconsistent.
  bool Check(ObjectKind kind, const ObjectId& id, const std::string& label);

  // Whether an earlier Check found (kind, id) and everything under it intact;
  // nullopt when no Check reached it.
  std::optional<bool> WasIntact(ObjectKind kind, const ObjectId& id) const;
  // A snap decoded by Check, for cross-checks against records of it.
  const Snap* SnapOf(const ObjectId& id) const;

 private:
  struct Visit {
    ObjectRef ref;
    std::string path;              // below the root ("" for the root and a snap's tree)
    std::optional<uint64_t> size;  // what the entry naming a file says it holds
    bool finish = false;           // second visit: everything under it is done
    uint64_t level = 0;            // a manifest's depth below its snap's root
  };
  struct Known {
    bool done = false;             // everything under it was checked too
    bool intact = false;           // it and, once done, everything under it
    std::optional<uint64_t> size;  // content size: blob bytes, chunk list total
    std::vector<ObjectRef> refs;   // until done
    bool cut = false;              // at the depth limit: not walked below, not kept
  };

  // Reads and decodes one object, pushing its references after a finish mark.
  Known Examine(const Visit& v, std::vector<Visit>& stack);
  Status Decode(const Visit& v, const std::string& bytes, Known& k, std::vector<Visit>& kids);
  void CheckSize(const Visit& v, const Known& k);
  Known* Find(const ObjectRef& ref);
  const Known* Find(const ObjectRef& ref) const;
  // What needs the object `v` names: "'src/a.c' in snap 9c1e0a...", or the root's label.
  std::string Where(const Visit& v) const;

  std::string label_, root_name_;  // of the root being checked
  const ObjectStore& store_;
  const ObjectCensus& census_;
  FsckReport& report_;
  std::unordered_map<ObjectId, Known> known_[4];  // by kind
  std::unordered_map<ObjectId, Snap> snaps_;
  TreeReader reader_;
  TreeDepth depth_;
};

}  // namespace converge

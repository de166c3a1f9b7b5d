// Restore: materialize a snap byte for byte (content, exec bits, symlinks,
// empty directories; not mtimes) into a new directory, or make the working
// tree match a snap in place without ever silently destroying uncaptured work.
// All writing goes through directory descriptors (workspace/materialize.h):
// restore never follows a symlink and never writes outside its target.
#pragma once

#include "base/fs.h"
#include "store/hash.h"
#include "workspace/materialize.h"
#include "workspace/workspace.h"

namespace converge {

// Materializes `snap` into `dir`, which must not exist or be an empty
// directory (kConflict otherwise). The tree is built in a hidden staging
// directory beside `dir` and renamed onto it at the end, so a failure (a
// corrupt object, a full disk, a tree deeper than kMaxTreeDepth) leaves no
// `dir` and no staging directory.
Result<RestoreStats> RestoreTo(Workspace& ws, const ObjectId& snap, const fs::path& dir,
                               bool progress);

// Makes the working tree match `snap` and records `snap` as the head.
//
// Refuses with kConflict, changing nothing, unless `force`: when the tree
// differs from the head snap (it has changes no snap holds; without a head,
// any content at all), or when the restore would overwrite or remove content
// capture leaves out (an ignored file in the way of one the snap holds).
// A tree that already matches `snap` is left alone.
//
// Nothing is changed until the whole snap has been checked: its depth (at
// most kMaxTreeDepth), every name, every object it needs present, intact
// (re-hashed) and of the size its manifest says, nothing uncaptured in the
// way, and room on the disk for the files it writes. What can still stop it
// half way is what cannot be known before writing: an I/O error, the disk
// filling up meanwhile (a quota, another writer), or another program
// changing the tree (other converge commands wait for the workspace lock).
// The error then says that the tree is partly restored and that running the
// restore again with --force finishes it. Paths the snap lacks are
// removed when capture would have stored them; ignored paths, FIFOs and the
// like stay. A .converge directory is never touched.
Result<RestoreStats> RestoreInPlace(Workspace& ws, const ObjectId& snap, bool force, bool progress);

// Finishes, in place, a tree a trusted writer began: `converge clone`, which
// writes files from verified bytes while it downloads (client/clone_writer.h)
// and records their stat fields in `written` (sealed). In one walk of `snap`
// (its depth measured first) it writes every directory, file and symlink the
// tree lacks or holds other than `written` says, as restore writes them,
// makes the stat cache for the whole tree and records `snap` as the head.
// For a tree that holds nothing else: whatever else is in the way of one of
// the snap's names is replaced, and nothing outside its names is looked at.
Result<RestoreStats> CompleteRestore(Workspace& ws, const ObjectId& snap,
                                     const WrittenFiles& written);

}  // namespace converge

// Downloading the closure of some snaps from a repo (used by fetch).
//
// Top down, one tree level per round (POST .../objects/fetch, up to 10,000
// IDs a request; blobs, which name nothing, asked for as soon as a request's
// worth is queued, so memory stays bounded per object held), each pack
// received by store/object_receiver.h: every object must be one asked for,
// hash to its ID, and (a manifest, snap or chunk list) decode canonically
// within the metadata limit; every blob and chunk list must have the size
// the object naming it promised, and no snap's tree may be deeper than
// kMaxTreeDepth. Objects go into one write batch and become visible all at
// once (one pack index), only once the whole closure arrived and checked, so
// an interrupted or refused download leaves nothing half there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/api_client.h"
#include "store/cas.h"

namespace converge {

struct DownloadStats {
  uint64_t objects = 0, bytes = 0;  // the objects' own bytes
  uint64_t received = 0;            // what came over the wire for them (packs' object records)
};

// Sees each object of a download once it is verified (hashed, and a snap or
// manifest decoded canonically), before the download adds it to its write
// batch: `converge clone` writes the working tree from what arrives instead
// of reading it all back from the store afterwards. Called from the
// download's receiving threads, two at once, so an implementation locks;
// nothing it does can fail the download, and it sees objects that may yet
// be refused with the transfer (too deep a tree, a broken promise).
class DownloadObserver {
 public:
  virtual ~DownloadObserver() = default;
  // A snap or manifest, with its bytes.
  virtual void Metadata(ObjectKind kind, const ObjectId& id, std::string_view bytes) = 0;
  // A blob or chunk, when the download holds it whole in memory (up to
  // 8 MiB while the memory budget allows); one it spilled to a temp file is
  // not shown.
  virtual void Blob(const ObjectId& id, std::string_view bytes) = 0;
};

// Downloads every object under `snaps` that `store` lacks, from `repo`
// through `api`. Returns what was fetched. Fails with the transport's errors
// (kUnavailable, kUnauthenticated, kNotFound, ...), kCorrupt for an object
// the server should not have sent (not asked for, wrong hash, wrong size,
// not canonical, too deep) or did not send, kTooLarge for a metadata object
// over 64 MiB, or the store's kIo. `progress`: show a progress line.
//
// A plain download trusts that the store holds everything below what it
// holds (a snap it has is not looked into). `heal` walks those too: every
// snap, manifest and chunk list the store holds under `snaps` is read
// (and so re-hashed), and whatever is missing there (set aside by `converge
// fsck --fix`, say) or does not read back intact is fetched, with all it
// names. A blob is looked for, not re-hashed: `fsck` finds a damaged one.
// `observer`, if any, sees each object as it arrives.
Result<DownloadStats> DownloadSnaps(ObjectStore& store, ApiClient& api, const std::string& repo,
                                    const std::vector<ObjectId>& snaps, bool progress,
                                    bool heal = false, DownloadObserver* observer = nullptr);

}  // namespace converge

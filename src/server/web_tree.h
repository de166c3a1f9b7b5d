// What the web view reads of a publication: its record and, at a path in its
// snap's tree, a directory or a file, read through the same services the API
// routes call (Publications::Get, ObjectSender's read role), so a caller sees
// exactly what the API would let them fetch, and a repo they may not read is
// the same kNotFound as one that does not exist. The role is checked once
// per call (ObjectSender::OpenRepo), not per level, and each object is
// hashed once, as it streams (ObjectSender::RepoReader), not also before.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/wire.h"
#include "server/authority.h"
#include "store/objects.h"

namespace converge {

struct WebTreeNode {
  wire::Publication publication;
  Snap snap;
  std::vector<std::string> path;  // from the root; empty: the root
  bool is_dir = true;
  Manifest dir;  // when is_dir
  Entry file;    // otherwise (a file or a symlink)
};

// The node at `path` ("" or "a/b/c") of publication `pub` in `repo`.
// Errors: kNotFound (repo not visible, no such publication, no such path,
// a path through a file); kInvalid (a malformed id or path); the services'.
Result<WebTreeNode> OpenPublicationPath(Authority& a, const Caller& caller, std::string_view repo,
                                        std::string_view pub, std::string_view path);

// The blobs that hold file `e`'s bytes, in order, each found in the repo
// for the caller (not yet hashed: StreamBlobs verifies): one, or a chunk
// list's chunks. Errors: as OpenRepo's and Find's; kInvalid for a symlink or
// a directory.
Result<std::vector<ObjectSender::Located>> FileBlobs(Authority& a, const Caller& caller,
                                                     std::string_view repo, const Entry& e);

// The bytes of `blobs`, in order, into `sink`, each verified as it streams
// (the last piece of a damaged blob never reaches the sink): Stream's errors.
Status StreamBlobs(const ObjectSender& sender, const std::vector<ObjectSender::Located>& blobs,
                   const ObjectSender::Sink& sink);

}  // namespace converge

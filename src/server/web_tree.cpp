#include "server/web_tree.h"

#include <algorithm>

#include "base/text.h"
#include "store/manifest_decode.h"

namespace converge {

namespace {

// The whole of a metadata object of the reader's repo, held to the size
// limit, hashed once (as it streams).
Result<std::string> ReadMetadata(Authority& a, const ObjectSender::RepoReader& reader,
                                 ObjectKind kind, const ObjectId& id) {
  ASSIGN_OR_RETURN(ObjectSender::Located o, reader.Find(kind, id));
  if (o.size > a.config().max_metadata_bytes)
    return TooLarge(Describe(kind, id) + " is larger than max_metadata_bytes");
  std::string bytes;
  bytes.reserve(o.size);
  RETURN_IF_ERROR(a.sender().Stream(o.id, [&](std::string_view piece) {
    bytes.append(piece);
    return Status::Ok();
  }));
  return bytes;
}

Result<std::vector<std::string>> SplitWebPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string part(path.substr(start, end - start));
    if (part.empty() || part == "." || part == "..")
      return Invalid("malformed path " + Quote(path));
    parts.push_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

}  // namespace

Result<WebTreeNode> OpenPublicationPath(Authority& a, const Caller& caller, std::string_view repo,
                                        std::string_view pub, std::string_view path) {
  WebTreeNode node;
  ASSIGN_OR_RETURN(node.publication, a.publications().Get(caller, repo, pub));
  ASSIGN_OR_RETURN(node.path, SplitWebPath(path));
  std::optional<ObjectId> snap_id = ObjectId::FromHex(node.publication.snap);
  if (!snap_id) return Corrupt("publication " + node.publication.id + " names a malformed snap");
  // One role check for the whole walk, then each level read once, from the
  // level above: never from the root again.
  ASSIGN_OR_RETURN(ObjectSender::RepoReader reader, a.sender().OpenRepo(caller, repo));
  ASSIGN_OR_RETURN(std::string snap_bytes, ReadMetadata(a, reader, ObjectKind::kSnap, *snap_id));
  ASSIGN_OR_RETURN(node.snap, DecodeSnap(snap_bytes));
  ObjectId dir = node.snap.root;
  for (size_t i = 0;; i++) {
    ASSIGN_OR_RETURN(std::string bytes, ReadMetadata(a, reader, ObjectKind::kManifest, dir));
    ASSIGN_OR_RETURN(node.dir, DecodeManifest(bytes));
    if (i == node.path.size()) return node;
    const std::string& name = node.path[i];
    // A manifest's entries are sorted by name (its canonical form).
    auto it = std::lower_bound(node.dir.entries.begin(), node.dir.entries.end(), name,
                               [](const Entry& e, const std::string& n) { return e.name < n; });
    if (it == node.dir.entries.end() || it->name != name)
      return NotFound("no " + Quote(path) + " in publication " + node.publication.id);
    if (it->type == EntryType::kDir) {
      dir = it->id;
      continue;
    }
    if (i + 1 != node.path.size())
      return NotFound("no " + Quote(path) + " in publication " + node.publication.id);
    node.is_dir = false;
    node.file = *it;
    node.dir = Manifest();
    return node;
  }
}

Result<std::vector<ObjectSender::Located>> FileBlobs(Authority& a, const Caller& caller,
                                                     std::string_view repo, const Entry& e) {
  if (e.type != EntryType::kFile) return Invalid(Quote(e.name) + " is not a file");
  ASSIGN_OR_RETURN(ObjectSender::RepoReader reader, a.sender().OpenRepo(caller, repo));
  std::vector<ObjectSender::Located> out;
  if (!e.chunked) {
    ASSIGN_OR_RETURN(ObjectSender::Located o, reader.Find(ObjectKind::kBlob, e.id));
    out.push_back(o);
    return out;
  }
  ASSIGN_OR_RETURN(std::string bytes, ReadMetadata(a, reader, ObjectKind::kChunkList, e.id));
  ASSIGN_OR_RETURN(ChunkList list, DecodeChunkList(bytes));
  for (const ChunkList::Chunk& c : list.chunks) {
    ASSIGN_OR_RETURN(ObjectSender::Located o, reader.Find(ObjectKind::kBlob, c.blob));
    out.push_back(o);
  }
  return out;
}

Status StreamBlobs(const ObjectSender& sender, const std::vector<ObjectSender::Located>& blobs,
                   const ObjectSender::Sink& sink) {
  for (const ObjectSender::Located& b : blobs) RETURN_IF_ERROR(sender.Stream(b.id, sink));
  return Status::Ok();
}

}  // namespace converge

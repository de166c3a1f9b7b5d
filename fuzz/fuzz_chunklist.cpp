// DecodeChunkList on arbitrary bytes: it never crashes, and whatever it
// accepts is canonical, non-empty, without empty chunks, and its chunk sizes
// add up to its size (counted without wrapping around).
#include "fuzz_check.h"
#include "store/object_refs.h"
#include "store/objects.h"

using namespace converge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::Bytes(data, size);
  Result<ChunkList> c = DecodeChunkList(bytes);
  Result<std::vector<ObjectRef>> refs = ReferencesOf(ObjectKind::kChunkList, bytes);
  if (!c.ok()) {
    FUZZ_CHECK(!refs.ok(), "ReferencesOf accepted a chunk list DecodeChunkList refused");
    return 0;
  }
  FUZZ_CHECK(EncodeChunkList(*c) == bytes, "an accepted chunk list is not canonical");
  FUZZ_CHECK(!c->chunks.empty(), "an accepted chunk list has no chunks");
  unsigned __int128 total = 0;
  for (const ChunkList::Chunk& ch : c->chunks) {
    FUZZ_CHECK(ch.size > 0, "an accepted chunk list has an empty chunk");
    total += ch.size;
  }
  FUZZ_CHECK(total == c->size, "chunk sizes do not add up to the size");
  FUZZ_CHECK(refs.ok() && refs->size() == c->chunks.size(), "ReferencesOf disagrees");
  for (size_t i = 0; i < c->chunks.size(); i++)
    FUZZ_CHECK((*refs)[i] == (ObjectRef{ObjectKind::kBlob, c->chunks[i].blob}), "wrong ref");
  return 0;
}

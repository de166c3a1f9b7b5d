// A pack index (store/pack_format.h) parsed from arbitrary bytes, as a
// damaged or hostile file in packs/ would be, and a pack entry header from
// its first bytes. Checked: parsing never reads out of bounds (ASan); an
// index that parses answers Find for every entry it holds with an entry of
// that ID; one that passes CheckWhole finds each entry at its own place.
#include <string>

#include "fuzz_check.h"
#include "store/pack_format.h"

using namespace converge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::Bytes(data, size);
  Result<PackEntryHeader> h = DecodeEntryHeader(in);
  if (h.ok()) FUZZ_CHECK(EncodeEntryHeader(*h) == in.substr(0, kPackEntryHeaderBytes), "header");
  Result<std::shared_ptr<const PackIndex>> idx = PackIndex::FromBytes(std::string(in), "f.idx");
  if (!idx.ok()) return 0;
  const PackIndex& index = **idx;
  bool whole = index.CheckWhole().ok();
  for (size_t i = 0; i < index.size(); i++) {
    PackEntry e = index.entry(i);
    std::optional<size_t> at = index.Find(e.id);
    if (whole) FUZZ_CHECK(at && *at == i, "a whole index finds each entry at its place");
    if (at) FUZZ_CHECK(index.entry(*at).id == e.id, "Find returned another ID");
  }
  FUZZ_CHECK(!index.packs().empty(), "an index names at least one pack");
  return 0;
}

// DecodeManifest on arbitrary bytes: it never crashes, and whatever it
// accepts is canonical (EncodeManifest gives back the same bytes), sorted,
// validly named, and ReferencesOf agrees with its entries.
#include "fuzz_check.h"
#include "store/object_refs.h"
#include "store/objects.h"

using namespace converge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::Bytes(data, size);
  Result<Manifest> m = DecodeManifest(bytes);
  Result<std::vector<ObjectRef>> refs = ReferencesOf(ObjectKind::kManifest, bytes);
  if (!m.ok()) {
    FUZZ_CHECK(!refs.ok(), "ReferencesOf accepted a manifest DecodeManifest refused");
    return 0;
  }
  FUZZ_CHECK(EncodeManifest(*m) == bytes, "an accepted manifest is not canonical");
  FUZZ_CHECK(refs.ok(), refs.status().message());

  size_t r = 0;
  for (size_t i = 0; i < m->entries.size(); i++) {
    const Entry& e = m->entries[i];
    FUZZ_CHECK(ValidateName(e.name).ok(), e.name);
    FUZZ_CHECK(i == 0 || m->entries[i - 1].name < e.name, "entries not strictly sorted");
    if (e.type == EntryType::kSymlink) {
      FUZZ_CHECK(!e.target.empty() && e.target.find('\0') == std::string::npos, e.target);
      continue;
    }
    ObjectKind want = e.type == EntryType::kDir
                          ? ObjectKind::kManifest
                          : (e.chunked ? ObjectKind::kChunkList : ObjectKind::kBlob);
    FUZZ_CHECK(r < refs->size() && (*refs)[r] == (ObjectRef{want, e.id}), e.name);
    r++;
  }
  FUZZ_CHECK(r == refs->size(), "ReferencesOf names more objects than the entries");

  Manifest copy = *m;
  FUZZ_CHECK(NormalizeManifest(copy).ok() && copy.entries == m->entries,
             "NormalizeManifest changed or refused a decoded manifest");
  return 0;
}

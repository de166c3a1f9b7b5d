// DecodeSnap on arbitrary bytes: it never crashes, and whatever it accepts
// is canonical (EncodeSnap gives back the same bytes) and names its root.
#include "fuzz_check.h"
#include "store/object_refs.h"
#include "store/objects.h"

using namespace converge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::Bytes(data, size);
  Result<Snap> s = DecodeSnap(bytes);
  Result<std::vector<ObjectRef>> refs = ReferencesOf(ObjectKind::kSnap, bytes);
  if (!s.ok()) {
    FUZZ_CHECK(!refs.ok(), "ReferencesOf accepted a snap DecodeSnap refused");
    return 0;
  }
  FUZZ_CHECK(EncodeSnap(*s) == bytes, "an accepted snap is not canonical");
  FUZZ_CHECK(
      refs.ok() && refs->size() == 1 && (*refs)[0] == (ObjectRef{ObjectKind::kManifest, s->root}),
      "ReferencesOf of a snap is not its root manifest");
  return 0;
}

// PackParser fed one input in pieces. The first byte says how many of the
// next bytes are piece sizes (0-15; each byte b is a piece of b + 1 bytes,
// used in turn); the rest is the pack body. Checked: the handler sees each
// object's Data add up to its declared size, Begin/End pair up, feeding in
// pieces gives exactly what feeding all at once gives, and an accepted pack
// is canonical: re-framing its objects gives back the same bytes.
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "api/pack.h"

using namespace converge;

namespace {

struct Object {
  ObjectKind kind;
  ObjectId id;
  uint64_t size;
  std::string bytes;
};

class Recorder : public PackParser::Handler {
 public:
  std::vector<Object> objects;
  bool open = false;

  Status Begin(ObjectKind kind, const ObjectId& id, uint64_t size) override {
    FUZZ_CHECK(!open, "Begin before the previous object's End");
    open = true;
    objects.push_back({kind, id, size, ""});
    return Status::Ok();
  }
  Status Data(std::string_view bytes) override {
    FUZZ_CHECK(open, "Data outside an object");
    FUZZ_CHECK(!bytes.empty(), "empty Data call");
    Object& o = objects.back();
    FUZZ_CHECK(o.bytes.size() + bytes.size() <= o.size, "more Data than the declared size");
    o.bytes.append(bytes);
    return Status::Ok();
  }
  Status End() override {
    FUZZ_CHECK(open, "End without Begin");
    FUZZ_CHECK(objects.back().bytes.size() == objects.back().size,
               "End before the declared size arrived");
    open = false;
    return Status::Ok();
  }
};

struct Outcome {
  std::vector<Object> objects;
  bool ok;
  uint64_t count;
};

Outcome Parse(std::string_view body, const std::vector<size_t>& pieces) {
  PackLimits limits;
  limits.max_object_size = 1 << 20;
  limits.max_objects = 64;
  Recorder rec;
  PackParser parser(rec, limits);
  Status st;
  size_t at = 0;
  for (size_t i = 0; at < body.size() && st.ok(); i++) {
    size_t n = pieces.empty() ? body.size() : pieces[i % pieces.size()];
    st = parser.Feed(body.substr(at, n));
    at += std::min(n, body.size() - at);
  }
  if (st.ok()) st = parser.Finish();
  if (st.ok()) {
    FUZZ_CHECK(!rec.open, "a finished pack has an object still open");
    FUZZ_CHECK(parser.objects() == rec.objects.size(), "objects() disagrees with the handler");
  }
  return {std::move(rec.objects), st.ok(), parser.objects()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t n = std::min<size_t>(data[0] % 16, size - 1);
  std::vector<size_t> pieces;
  for (size_t i = 0; i < n; i++) pieces.push_back(size_t{data[1 + i]} + 1);
  std::string_view body = fuzz::Bytes(data + 1 + n, size - 1 - n);

  Outcome whole = Parse(body, {});
  Outcome sliced = Parse(body, pieces);
  FUZZ_CHECK(whole.ok == sliced.ok, "slicing changed whether the pack parses");
  FUZZ_CHECK(whole.objects.size() == sliced.objects.size(), "slicing changed the objects");
  for (size_t i = 0; i < whole.objects.size(); i++) {
    const Object& a = whole.objects[i];
    const Object& b = sliced.objects[i];
    // The last object may be cut off at a different point in an invalid pack.
    bool last = i + 1 == whole.objects.size();
    FUZZ_CHECK(a.kind == b.kind && a.id == b.id && a.size == b.size &&
                   (a.bytes == b.bytes || (last && !whole.ok)),
               "slicing changed object " + std::to_string(i));
  }
  if (!whole.ok) return 0;
  std::string framed(kPackMagic);
  for (const Object& o : whole.objects) framed += PackObjectHeader(o.kind, o.id, o.size) + o.bytes;
  framed += kPackEnd;
  FUZZ_CHECK(framed == body, "an accepted pack is not in canonical framing");
  return 0;
}

// PackParser fed one input in pieces. The first byte says how many of the
// next bytes are piece sizes (0-15; each byte b is a piece of b + 1 bytes,
// used in turn); the rest is the pack body, of either version (version 2 in
// either mode). Checked: the handler sees each object's Data add up to its
// declared size (an encoded object's: its stored size), Begin/End pair up,
// feeding in pieces gives exactly what feeding all at once gives, and an
// accepted pack is canonical: re-framing its objects gives back the same
// bytes (a version 2 stream: its decompressed records, re-framed, parse the
// same).
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "api/pack.h"

using namespace converge;

namespace {

struct Object {
  EncodedObject header;
  std::string bytes;
};

class Recorder : public PackParser::Handler {
 public:
  std::vector<Object> objects;
  bool open = false;

  Status Begin(ObjectKind kind, const ObjectId& id, uint64_t size) override {
    return BeginEncoded(EncodedObject{kind, id, size, Encoding::kRaw, size, ObjectId()});
  }
  Status BeginEncoded(const EncodedObject& h) override {
    FUZZ_CHECK(!open, "Begin before the previous object's End");
    FUZZ_CHECK(h.encoding != Encoding::kRaw || h.stored == h.size, "a raw object's stored size");
    open = true;
    objects.push_back({h, ""});
    return Status::Ok();
  }
  Status Data(std::string_view bytes) override {
    FUZZ_CHECK(open, "Data outside an object");
    FUZZ_CHECK(!bytes.empty(), "empty Data call");
    Object& o = objects.back();
    FUZZ_CHECK(o.bytes.size() + bytes.size() <= o.header.stored,
               "more Data than the declared size");
    o.bytes.append(bytes);
    return Status::Ok();
  }
  Status End() override {
    FUZZ_CHECK(open, "End without Begin");
    FUZZ_CHECK(objects.back().bytes.size() == objects.back().header.stored,
               "End before the declared size arrived");
    open = false;
    return Status::Ok();
  }
};

struct Outcome {
  std::vector<Object> objects;
  bool ok;
  uint64_t count;
  int version;
};

bool SameHeader(const EncodedObject& a, const EncodedObject& b) {
  return a.kind == b.kind && a.id == b.id && a.size == b.size && a.encoding == b.encoding &&
         a.stored == b.stored && a.base == b.base;
}

std::string Reframed(const Outcome& o) {
  std::string out(o.version == 1 ? kPackMagic : kPackMagicV2);
  if (o.version == 2) out.push_back('\0');
  for (const Object& obj : o.objects) {
    if (o.version == 1)
      out += PackObjectHeader(obj.header.kind, obj.header.id, obj.header.size) + obj.bytes;
    else
      out += PackObjectHeaderV2(obj.header) + obj.bytes;
  }
  if (o.version == 1) return out + std::string(kPackEnd);
  return out + std::string(1, '\0');
}

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
  return {std::move(rec.objects), st.ok(), parser.objects(), parser.version()};
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
  // An invalid version 2 stream may stop with more or less of its
  // decompressed bytes handed on (what zstd made in the call that failed is
  // dropped): there, one's objects are a prefix of the other's.
  bool stream_failed = !whole.ok && whole.version == 2 && body.size() > kPackMagicV2.size() &&
                       body[kPackMagicV2.size()] == '\1';
  FUZZ_CHECK(whole.objects.size() == sliced.objects.size() || stream_failed,
             "slicing changed the objects");
  size_t common = std::min(whole.objects.size(), sliced.objects.size());
  for (size_t i = 0; i < common; i++) {
    const Object& a = whole.objects[i];
    const Object& b = sliced.objects[i];
    // The last object may be cut off at a different point in an invalid pack.
    bool last = i + 1 == common;
    FUZZ_CHECK(SameHeader(a.header, b.header) && (a.bytes == b.bytes || (last && !whole.ok)),
               "slicing changed object " + std::to_string(i));
  }
  if (!whole.ok) return 0;
  FUZZ_CHECK(whole.version == 1 || whole.version == 2, "an accepted pack of no version");
  std::string framed = Reframed(whole);
  bool stream =
      whole.version == 2 && body.size() > kPackMagicV2.size() && body[kPackMagicV2.size()] == '\1';
  if (!stream) {
    FUZZ_CHECK(framed == body, "an accepted pack is not in canonical framing");
    return 0;
  }
  Outcome again = Parse(framed, {});
  FUZZ_CHECK(again.ok && again.objects.size() == whole.objects.size(),
             "a stream's records, re-framed plainly, do not parse the same");
  for (size_t i = 0; i < whole.objects.size(); i++)
    FUZZ_CHECK(SameHeader(again.objects[i].header, whole.objects[i].header) &&
                   again.objects[i].bytes == whole.objects[i].bytes,
               "a stream's records, re-framed plainly, do not parse the same");
  return 0;
}

// A pack (either version, any encoding) through PackParser into the one
// receiver (store/object_receiver.h) of a store in a temp dir, with one base
// object on offer ("fuzz base\n" repeated, see kBase). Checked: every object
// the receiver hands on is whole (its file, and a metadata object's bytes,
// have its declared size, and those bytes hash to its ID); a frame it hands
// on to keep as it came decompresses, the way a pack at rest is read, to
// bytes that hash to the ID; whatever the outcome, nothing of the memory
// budget stays taken and no temp file stays behind once the receiver is gone.
#include <cstdlib>
#include <string>

#include "api/pack.h"
#include "fuzz_check.h"
#include "store/compress.h"
#include "store/memory_budget.h"

using namespace converge;

namespace {

std::string Base() {
  std::string out;
  for (int i = 0; i < 200; i++) out += "fuzz base " + std::to_string(i) + "\n";
  return out;
}

ObjectStore& Store() {
  static ObjectStore* store = [] {
    char dir[] = "/tmp/fuzz_pack_receive.XXXXXX";
    FUZZ_CHECK(::mkdtemp(dir) != nullptr, "a temp dir");
    Result<ObjectStore> s = ObjectStore::Open(dir);
    FUZZ_CHECK(s.ok(), s.status().message());
    return new ObjectStore(std::move(*s));
  }();
  return *store;
}

class CheckingRole : public ObjectReceiver::Role {
 public:
  Result<std::string> Base(ObjectKind kind, const ObjectId& base) override {
    static const std::string bytes = ::Base();
    if (base != ObjectId::Of(bytes)) return ObjectReceiver::Role::Base(kind, base);
    return bytes;
  }
  Status Take(ReceivedObject&& o) override {
    FUZZ_CHECK(o.file.size() == o.size, "a file of another size than declared");
    if (o.kind != ObjectKind::kBlob) {
      FUZZ_CHECK(o.bytes.size() == o.size, "a metadata object of another size");
      FUZZ_CHECK(ObjectId::Of(o.bytes) == o.id, "a metadata object that does not hash to its ID");
    }
    if (o.frame.held()) {
      FUZZ_CHECK(o.size <= kMaxCompressedObject, "a kept frame of too large an object");
      std::string raw(o.size, '\0');
      Status st = DecompressStored(o.frame.view(), raw.data(), o.size);
      FUZZ_CHECK(st.ok(), "a kept frame does not read back: " + st.message());
      FUZZ_CHECK(ObjectId::Of(raw) == o.id, "a kept frame does not hash to its ID");
    }
    return Status::Ok();  // dropped: the writer removes its temp file
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ObjectStore& store = Store();
  {
    CheckingRole role;
    ObjectReceiver rx(store, role, 1 << 20);
    PackLimits limits;
    limits.max_object_size = 16 << 20;
    limits.max_objects = 64;
    PackParser parser(rx, limits);
    Status st = parser.Feed(fuzz::Bytes(data, size));
    if (st.ok()) (void)parser.Finish();
  }
  FUZZ_CHECK(MemoryBudget::Global().used() == 0, "memory budget still taken");
  std::error_code ec;
  FUZZ_CHECK(fs::directory_iterator(store.root() / "tmp", ec) == fs::directory_iterator(),
             "a temp file left behind");
  return 0;
}

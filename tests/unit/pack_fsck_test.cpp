// fsck of a packed store (store/fsck.h's census): what is damage (an index
// that fails its checksum, a pack an index names that is gone, an object with
// no intact copy) and what is only a warning (a damaged copy beside an intact
// one, bytes of a pack no index names, a pack no index names).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "store/cas.h"
#include "store/fsck.h"
#include "store/pack_set.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"

namespace converge {
namespace {

using testing::TempDir;

struct PackedStore {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::vector<std::string> objects;

  PackedStore() {
    WriteBatch batch(store);
    for (int i = 0; i < 20; i++) {
      objects.push_back("object " + std::to_string(i) + " " + testing::PseudoRandomBytes(500, i));
      EXPECT_TRUE(batch.Put(objects.back()).ok());
    }
    EXPECT_TRUE(batch.Commit().ok());
  }
  fs::path packs() const { return dir.path() / "packs"; }
  fs::path File(const std::string& suffix) const {
    for (const auto& e : fs::directory_iterator(packs()))
      if (e.path().string().ends_with(suffix)) return e.path();
    return {};
  }
  FsckReport Census() {
    FsckReport report;
    EXPECT_TRUE(TakeCensus(store, report).ok());
    Result<std::vector<TempFile>> temps = store.ListTemps();
    EXPECT_TRUE(temps.ok());
    CheckTemps(*temps, false, 0, "", report);
    return report;
  }
};

std::string PackFsckDump(const FsckReport& r) {
  std::string out;
  for (const FsckProblem& p : r.problems)
    out += (p.warning ? "warning: " : "error: ") + p.subject + ": " + p.problem + "\n";
  return out;
}

bool PackFsckHas(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(PackFsck, ACleanPackedStoreHasNoProblems) {
  PackedStore s;
  FsckReport r = s.Census();
  EXPECT_TRUE(r.problems.empty()) << PackFsckDump(r);
  EXPECT_EQ(r.objects_checked, 20u);
}

TEST(PackFsck, AnIndexFailingItsChecksumIsDamage) {
  PackedStore s;
  fs::path index = s.File(".idx");
  testing::FlipByte(index, fs::file_size(index) - 1);  // the trailer
  FsckReport r = s.Census();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(PackFsckHas(PackFsckDump(r), "error: pack index " + index.filename().string()))
      << PackFsckDump(r);
  EXPECT_TRUE(PackFsckHas(PackFsckDump(r), "checksum")) << PackFsckDump(r);
}

TEST(PackFsck, APackAnIndexNamesThatIsGoneIsDamageNamingIt) {
  PackedStore s;
  fs::path pack = s.File(".pack");
  fs::remove(pack);
  FsckReport r = s.Census();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(PackFsckHas(PackFsckDump(r),
                          "names pack " + pack.filename().string() + ", which is missing: the 20"))
      << PackFsckDump(r);
}

TEST(PackFsck, ADamagedPackedObjectIsDamageNamingThePack) {
  PackedStore s;
  ObjectId id = ObjectId::Of(s.objects[3]);
  testing::DamageObject(s.store, id, 100);
  FsckReport r = s.Census();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(PackFsckHas(PackFsckDump(r), "error: object " + id.hex() + ": damaged"))
      << PackFsckDump(r);
  EXPECT_TRUE(PackFsckHas(PackFsckDump(r), s.File(".pack").filename().string())) << PackFsckDump(r);
}

TEST(PackFsck, ADamagedCopyBesideAnIntactOneIsAWarning) {
  PackedStore s;
  ObjectId id = ObjectId::Of(s.objects[5]);
  Result<ObjectWriter> w = s.store.NewWriter();
  ASSERT_TRUE(w.ok() && w->Append(s.objects[5]).ok() && w->Finish(id).ok());
  ASSERT_TRUE(s.store.Install(std::move(*w)).ok());  // a loose copy beside the packed one
  testing::DamageObject(s.store, id, 100);           // the packed copy, read first
  EXPECT_TRUE(s.store.Verify(id).ok()) << "the loose copy stands in";
  FsckReport r = s.Census();
  EXPECT_TRUE(r.ok()) << PackFsckDump(r);
  EXPECT_TRUE(PackFsckHas(PackFsckDump(r), "warning: object " + id.hex() + ": a copy is damaged"))
      << PackFsckDump(r);
}

TEST(PackFsck, BytesNoIndexNamesAndAPackNoIndexNamesAreWarnings) {
  PackedStore s;
  fs::path pack = s.File(".pack");
  fs::path orphan = s.packs() / "0123456789abcdef0123456789abcdef-0.pack";
  fs::copy_file(pack, orphan);
  {
    std::ofstream tail(pack, std::ios::app | std::ios::binary);
    tail << "a torn tail";
  }
  FsckReport r = s.Census();
  EXPECT_TRUE(r.ok()) << PackFsckDump(r);
  EXPECT_TRUE(PackFsckHas(PackFsckDump(r), "warning: " + pack.string() + ": its last 11 bytes"))
      << PackFsckDump(r);
  EXPECT_TRUE(
      PackFsckHas(PackFsckDump(r), "warning: " + orphan.string() + ": pack file no index names"))
      << PackFsckDump(r);
  for (const std::string& o : s.objects) EXPECT_TRUE(s.store.Verify(ObjectId::Of(o)).ok());
}

}  // namespace
}  // namespace converge

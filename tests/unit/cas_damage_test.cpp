// The object store and a damaged object file (issue 11, item 12), shared by
// workspace and server: verified bytes always replace what is on disk (never
// "same size, so the same"), and a stream never hands out the last piece of
// an object whose bytes do not hash to its ID.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>

#include "store/cas.h"
#include "support/process.h"
#include "support/store_helpers.h"

namespace converge {
namespace {

using testing::TempDir;

// Flips one bit of the byte at `at` in the object's file (same size).
void DamageObjectFile(const ObjectStore& store, const ObjectId& id, std::streamoff at) {
  fs::path p = store.PathOf(id);
  ::chmod(p.c_str(), 0644);
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << p;
  f.seekg(at);
  char c = 0;
  f.get(c);
  f.seekp(at);
  f.put(static_cast<char>(c ^ 0x01));
}

// A finished writer holding `content`, ready to install or add to a batch.
ObjectWriter FinishedWriter(const ObjectStore& store, const std::string& content) {
  Result<ObjectWriter> w = store.NewWriter();
  EXPECT_TRUE(w.ok());
  EXPECT_TRUE(w->Append(content).ok());
  EXPECT_TRUE(w->Finish(ObjectId::Of(content)).ok());
  return std::move(*w);
}

std::string ObjectFileBytes(const ObjectStore& store, const ObjectId& id) {
  return testing::ReadFileOrDie(store.PathOf(id));
}

TEST(CasDamage, InstallReplacesADamagedCopyOfTheSameSize) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::string content = "the right bytes, installed twice";
  ObjectId id = *store.Put(content);
  DamageObjectFile(store, id, 5);
  ASSERT_EQ(store.Verify(id).code(), Code::kCorrupt);

  ASSERT_TRUE(store.Install(FinishedWriter(store, content)).ok());
  EXPECT_EQ(ObjectFileBytes(store, id), content);
  EXPECT_TRUE(store.Verify(id).ok());
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
}

TEST(CasDamage, WriteBatchAddReplacesADamagedCopy) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::string content(5000, 'w');
  ObjectId id = *store.Put(content);
  DamageObjectFile(store, id, 4000);
  {
    WriteBatch batch(store);
    ASSERT_TRUE(batch.Add(FinishedWriter(store, content)).ok());
    EXPECT_EQ(batch.size(), 1u) << "an object already on disk is written all the same";
    ASSERT_TRUE(batch.Commit().ok());
  }
  // The batch's packed copy is read first, and the damaged file passed over.
  EXPECT_TRUE(store.Locate(id)->packed);
  Result<std::string> back = store.Read(id);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, content);
  EXPECT_TRUE(store.Verify(id).ok());
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
}

// A sink that keeps what it was handed, as a client receiving it would.
struct Received {
  std::string bytes;
  std::function<Status(std::string_view)> sink() {
    return [this](std::string_view piece) {
      bytes.append(piece);
      return Status::Ok();
    };
  }
};

TEST(CasDamage, StreamWithholdsTheLastPieceOfADamagedObject) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  // One read (small) and several (larger than the store's read buffer).
  for (size_t size : {size_t{64}, size_t{3} << 20}) {
    std::string content(size, 'a');
    content[size - 1] = static_cast<char>(size & 0xff);
    ObjectId id = *store.Put(content);
    DamageObjectFile(store, id, static_cast<std::streamoff>(size / 3));
    Received got;
    Status st = store.Stream(id, got.sink());
    EXPECT_EQ(st.code(), Code::kCorrupt) << size;
    EXPECT_LT(got.bytes.size(), size) << "the sink saw the whole damaged object";
    if (size == 64) {
      EXPECT_TRUE(got.bytes.empty()) << "one piece: nothing before the check";
    }

    Received whole;
    ASSERT_TRUE(store.Put(content).ok());  // Put skips what exists: still damaged
    ASSERT_TRUE(store.Install(FinishedWriter(store, content)).ok());
    ASSERT_TRUE(store.Stream(id, whole.sink()).ok()) << size;
    EXPECT_TRUE(whole.bytes == content) << size;
  }
}

// A damaged packed copy: a loose install (a single-object upload) stands in
// for it, whatever its size, and the stream never mixes the two.
TEST(CasDamage, InstallStandsInForADamagedPackedCopy) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  for (size_t size : {size_t{64}, size_t{3} << 20}) {
    std::string content(size, 'p');
    content[size / 2] = 'q';
    ObjectId id = ObjectId::Of(content);
    {
      WriteBatch batch(store);
      ASSERT_TRUE(batch.Put(content).ok());
      ASSERT_TRUE(batch.Commit().ok());
    }
    testing::DamageObject(store, id, size / 3);
    ASSERT_EQ(store.Verify(id).code(), Code::kCorrupt) << size;
    ASSERT_TRUE(store.Install(FinishedWriter(store, content)).ok());
    Received got;
    ASSERT_TRUE(store.Stream(id, got.sink()).ok()) << size;
    EXPECT_TRUE(got.bytes == content) << size;
  }
}

}  // namespace
}  // namespace converge

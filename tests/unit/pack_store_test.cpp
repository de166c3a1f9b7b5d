// The packed object store's parts (store/pack_format.h, pack_writer.h,
// pack_set.h, compress.h): the index format and its checks, packs written as
// one stream and made visible at one rename, every read re-hashed, damage
// and quarantine, and zstd kept only where it pays.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "base/fs.h"
#include "store/cas.h"
#include "store/compress.h"
#include "store/memory_budget.h"
#include "store/pack_format.h"
#include "store/pack_set.h"
#include "store/pack_writer.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"

namespace converge {
namespace {

using testing::TempDir;

// A store root with the directories a PackWriter and a PackSet use.
struct PackDir {
  TempDir dir;
  PackDir() {
    fs::create_directories(dir.path() / "tmp");
    fs::create_directories(dir.path() / "packs");
  }
  fs::path root() const { return dir.path(); }
  fs::path packs() const { return dir.path() / "packs"; }
  size_t Count(const std::string& suffix) const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(packs()))
      if (e.path().filename().string().ends_with(suffix)) n++;
    return n;
  }
};

Result<std::string> ReadCopy(const PackSet& set, const ObjectId& id) {
  std::vector<PackSet::Copy> copies = set.Find(id);
  if (copies.empty()) return NotFound("no copy");
  std::string out;
  bool delivered = false;
  std::atomic<uint64_t> read{0};
  RETURN_IF_ERROR(set.StreamCopy(
      copies[0], id,
      [&](std::string_view p) {
        out.append(p);
        return Status::Ok();
      },
      &delivered, read));
  return out;
}

Status AppendRaw(PackWriter& w, const std::string& bytes) {
  return w.Append(ObjectId::Of(bytes), 0, Codec::kRaw, bytes.size(), bytes);
}

TEST(PackIndexFormat, FindsEveryEntryAndChecksItself) {
  std::vector<PackEntry> entries;
  for (int i = 0; i < 1000; i++) {
    PackEntry e;
    e.id = ObjectId::Of("object " + std::to_string(i));
    e.pack = static_cast<uint32_t>(i % 2);
    e.offset = 8 + 100 * static_cast<uint64_t>(i);
    e.stored = e.raw = static_cast<uint64_t>(i);
    entries.push_back(e);
  }
  std::string bytes = EncodePackIndex({"a-0.pack", "a-1.pack"}, entries);
  auto idx = PackIndex::FromBytes(bytes, "a.idx");
  ASSERT_TRUE(idx.ok()) << idx.status().message();
  EXPECT_EQ((*idx)->size(), 1000u);
  EXPECT_TRUE((*idx)->CheckWhole().ok());
  for (const PackEntry& e : entries) {
    std::optional<size_t> i = (*idx)->Find(e.id);
    ASSERT_TRUE(i.has_value());
    PackEntry got = (*idx)->entry(*i);
    EXPECT_EQ(got.offset, e.offset);
    EXPECT_EQ(got.pack, e.pack);
    EXPECT_EQ(got.raw, e.raw);
  }
  EXPECT_FALSE((*idx)->Find(ObjectId::Of("not there")).has_value());

  std::string flipped = bytes;
  flipped[bytes.size() - 100] ^= 1;  // inside the last entry
  auto damaged = PackIndex::FromBytes(flipped, "a.idx");
  ASSERT_TRUE(damaged.ok()) << "opening does not re-hash the index";
  EXPECT_EQ((*damaged)->CheckWhole().code(), Code::kCorrupt);
  EXPECT_EQ(PackIndex::FromBytes(bytes.substr(0, bytes.size() - 1), "a.idx").status().code(),
            Code::kCorrupt);
  std::string bad_fanout = bytes;
  bad_fanout[kPackIndexHeaderBytes + 2 * kPackNameBytes + 4] = '\x7f';  // fanout[1] > fanout[2]
  EXPECT_EQ(PackIndex::FromBytes(bad_fanout, "a.idx").status().code(), Code::kCorrupt);
}

// Find interpolates on the IDs' spread: IDs that are not spread evenly (a
// run sharing 7 leading bytes, the extremes of a bucket, IDs that differ
// only past their first 8 bytes) are still all found, and IDs between them
// are not.
TEST(PackIndexFormat, FindsIdsHoweverTheyAreSpread) {
  std::vector<ObjectId> ids;
  auto with = [](std::initializer_list<std::pair<size_t, unsigned char>> bytes,
                 unsigned char last) {
    std::array<unsigned char, ObjectId::kBytes> raw{};
    for (auto [at, b] : bytes) raw[at] = b;
    raw[ObjectId::kBytes - 1] = last;
    return ObjectId(raw);
  };
  for (int i = 0; i < 3000; i++) ids.push_back(ObjectId::Of("spread " + std::to_string(i)));
  for (unsigned char i = 0; i < 200; i++) {
    ids.push_back(with({{0, 0x42}, {1, 0x42}, {6, 0x42}, {7, i}}, 1));  // 7 shared bytes
    ids.push_back(with({{0, 0x43}}, i));                                // only the last differs
  }
  ids.push_back(with({{0, 0x00}}, 0));  // the lowest ID there is
  std::array<unsigned char, ObjectId::kBytes> top;
  top.fill(0xff);
  ids.push_back(ObjectId(top));  // and the highest
  std::vector<PackEntry> entries;
  for (const ObjectId& id : ids) {
    PackEntry e;
    e.id = id;
    entries.push_back(e);
  }
  auto idx = PackIndex::FromBytes(EncodePackIndex({"a-0.pack"}, entries), "a.idx");
  ASSERT_TRUE(idx.ok()) << idx.status().message();
  for (const ObjectId& id : ids) {
    std::optional<size_t> i = (*idx)->Find(id);
    ASSERT_TRUE(i.has_value()) << id.hex();
    EXPECT_EQ((*idx)->entry(*i).id, id);
  }
  EXPECT_FALSE((*idx)->Find(with({{0, 0x42}, {1, 0x42}, {6, 0x42}, {7, 7}}, 2)).has_value());
  EXPECT_FALSE((*idx)->Find(with({{0, 0x43}}, 250)).has_value());
  EXPECT_FALSE((*idx)->Find(with({{0, 0x00}}, 1)).has_value());
  for (int i = 0; i < 3000; i++)
    EXPECT_FALSE((*idx)->Find(ObjectId::Of("absent " + std::to_string(i))).has_value());
}

TEST(PackWriter, ObjectsAreInvisibleUntilTheIndexIsRenamed) {
  PackDir d;
  std::vector<std::string> objects;
  for (int i = 0; i < 50; i++)
    objects.push_back(std::string(1000 + i, static_cast<char>('a' + i % 26)));
  std::string index_name;
  {
    PackWriter w(d.root(), 10'000);  // small: the batch spans several packs
    for (const std::string& o : objects) ASSERT_TRUE(AppendRaw(w, o).ok());
    EXPECT_EQ(d.Count(".idx"), 0u);
    EXPECT_EQ(d.Count(".pack"), 0u) << "packs wait in tmp/ until the commit";
    auto name = w.Commit();
    ASSERT_TRUE(name.ok()) << name.status().message();
    index_name = *name;
  }
  EXPECT_GT(d.Count(".pack"), 1u);
  EXPECT_EQ(d.Count(".idx"), 1u);
  EXPECT_TRUE(fs::is_empty(d.root() / "tmp"));
  PackSet set(d.packs());
  ASSERT_TRUE(set.Refresh().ok());
  ASSERT_EQ(set.Indexes().size(), 1u);
  EXPECT_EQ(set.Indexes()[0]->name(), index_name);
  EXPECT_TRUE(set.Indexes()[0]->CheckWhole().ok());
  for (const std::string& o : objects) {
    auto back = ReadCopy(set, ObjectId::Of(o));
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, o);
  }
}

TEST(PackWriter, AWriterDroppedUncommittedLeavesNothing) {
  PackDir d;
  {
    PackWriter w(d.root(), 1 << 20);
    ASSERT_TRUE(AppendRaw(w, "never committed").ok());
    EXPECT_FALSE(fs::is_empty(d.root() / "tmp"));
  }
  EXPECT_TRUE(fs::is_empty(d.root() / "tmp"));
  EXPECT_TRUE(fs::is_empty(d.packs()));
}

TEST(PackSet, FindsPacksAnotherWriterAddedAfterARefresh) {
  PackDir d;
  PackSet set(d.packs());
  ASSERT_TRUE(set.Refresh().ok());
  EXPECT_FALSE(set.Changed());
  PackWriter w(d.root(), 1 << 20);
  ASSERT_TRUE(AppendRaw(w, "from elsewhere").ok());
  ASSERT_TRUE(w.Commit().ok());
  EXPECT_FALSE(set.Has(ObjectId::Of("from elsewhere"))) << "not before a refresh";
  ASSERT_TRUE(set.Refresh().ok());
  EXPECT_TRUE(set.Has(ObjectId::Of("from elsewhere")));
}

// A byte flipped in a pack: reads fail as kCorrupt naming the object; a
// small object never reaches the sink, a large one never whole.
TEST(PackSet, DamageIsCorruptAndNeverReachesASinkWhole) {
  for (size_t size : {size_t{64}, size_t{3} << 20}) {
    PackDir d;
    std::string content = testing::PseudoRandomBytes(size, 7);
    ObjectId id = ObjectId::Of(content);
    PackWriter w(d.root(), 64 << 20);
    ASSERT_TRUE(AppendRaw(w, content).ok());
    ASSERT_TRUE(w.Commit().ok());
    PackSet set(d.packs());
    ASSERT_TRUE(set.Refresh().ok());
    PackSet::Copy c = set.Find(id).at(0);
    testing::FlipByte(d.packs() / c.index->packs()[0],
                      c.entry.offset + kPackEntryHeaderBytes + size / 2);
    std::string got;
    bool delivered = false;
    std::atomic<uint64_t> read{0};
    Status st = set.StreamCopy(
        c, id,
        [&](std::string_view p) {
          got.append(p);
          return Status::Ok();
        },
        &delivered, read);
    EXPECT_EQ(st.code(), Code::kCorrupt) << size;
    EXPECT_NE(st.message().find(id.hex()), std::string::npos) << st.message();
    EXPECT_LT(got.size(), size);
    if (size == 64) {
      EXPECT_FALSE(delivered);
    }
  }
}

TEST(PackSet, AnIndexPointingAtOtherBytesIsCorrupt) {
  PackDir d;
  PackWriter w(d.root(), 1 << 20);
  ASSERT_TRUE(AppendRaw(w, "first object").ok());
  ASSERT_TRUE(AppendRaw(w, "second object").ok());
  ASSERT_TRUE(w.Commit().ok());
  PackSet set(d.packs());
  ASSERT_TRUE(set.Refresh().ok());
  PackSet::Copy first = set.Find(ObjectId::Of("first object")).at(0);
  PackSet::Copy second = set.Find(ObjectId::Of("second object")).at(0);
  first.entry.offset = second.entry.offset;  // as a damaged index would say
  bool delivered = false;
  std::atomic<uint64_t> read{0};
  Status st = set.StreamCopy(
      first, ObjectId::Of("first object"), [](std::string_view) { return Status::Ok(); },
      &delivered, read);
  EXPECT_EQ(st.code(), Code::kCorrupt);
}

TEST(PackSet, QuarantinedCopiesAreSkipped) {
  PackDir d;
  PackWriter w(d.root(), 1 << 20);
  ASSERT_TRUE(AppendRaw(w, "set aside").ok());
  ASSERT_TRUE(AppendRaw(w, "kept").ok());
  std::string index = *w.Commit();
  PackSet set(d.packs());
  ASSERT_TRUE(set.Refresh().ok());
  ASSERT_TRUE(set.AddToQuarantine({{index, ObjectId::Of("set aside")}}).ok());
  EXPECT_FALSE(set.Has(ObjectId::Of("set aside")));
  EXPECT_TRUE(set.Has(ObjectId::Of("kept")));
  PackSet other(d.packs());  // another process reads the list from disk
  ASSERT_TRUE(other.Refresh().ok());
  EXPECT_FALSE(other.Has(ObjectId::Of("set aside")));
  ASSERT_TRUE(other.PruneQuarantine({}).ok());
  EXPECT_FALSE(fs::exists(d.packs() / "quarantine"));
}

TEST(Compress, KeepsZstdOnlyWhereItPays) {
  std::string text;
  for (int i = 0; i < 5000; i++)
    text += "line " + std::to_string(i % 97) + " of some source file\n";
  std::optional<std::string> frame = CompressForStorage(text);
  ASSERT_TRUE(frame.has_value());
  EXPECT_LT(frame->size(), text.size() / 3);
  std::string back(text.size(), '\0');
  ASSERT_TRUE(DecompressStored(*frame, back.data(), back.size()).ok());
  EXPECT_EQ(back, text);
  EXPECT_EQ(DecompressStored(*frame, back.data(), back.size() - 1).code(), Code::kCorrupt);
  std::string damaged = *frame;
  damaged.resize(damaged.size() / 2);
  EXPECT_EQ(DecompressStored(damaged, back.data(), back.size()).code(), Code::kCorrupt);

  EXPECT_FALSE(CompressForStorage(testing::PseudoRandomBytes(1 << 20, 3)).has_value());
  EXPECT_FALSE(CompressForStorage("tiny").has_value());
  EXPECT_FALSE(CompressForStorage(std::string(kMaxCompressedObject + 1, 'a')).has_value());
}

// Each thread keeps one context of a fixed size and a scratch buffer
// (store/compress.cpp): objects of every size, in any order, on several
// threads at once, each compress to a frame that reads back exactly.
TEST(Compress, ObjectsOfEverySizeInTurnOnSeveralThreads) {
  auto text = [](size_t size, int seed) {
    std::string t;
    for (int i = 0; t.size() < size; i++)
      t += "line " + std::to_string((i * seed) % 13) + " of file " + std::to_string(seed) + "\n";
    t.resize(size);
    return t;
  };
  const std::vector<size_t> sizes = {
      1000, 200 << 10, 256 << 10, (256 << 10) + 1, 3000, 4u << 20, 64 << 10, 8u << 20, 5000};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; t++)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizes.size(); i++) {
          std::string raw = text(sizes[(i + t) % sizes.size()], t + 2);
          std::optional<std::string> frame = CompressForStorage(raw);
          std::string back(raw.size(), '\0');
          if (!frame || !DecompressStored(*frame, back.data(), back.size()).ok() || back != raw)
            bad++;
        }
    });
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// Through the store: a write batch keeps text compressed and random bytes as
// they are; both read back verified, and a damaged compressed object reaches
// no sink at all (it is checked whole before a byte goes out).
TEST(PackedStore, CompressibleObjectsAreStoredCompressedAndReadBackVerified) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::string text;
  for (int i = 0; i < 20000; i++) text += "int f" + std::to_string(i % 50) + "(void);\n";
  std::string random = testing::PseudoRandomBytes(300 << 10, 11);
  {
    WriteBatch batch(store);
    ASSERT_TRUE(batch.Put(text).ok());
    ASSERT_TRUE(batch.Put(random).ok());
    ASSERT_TRUE(batch.Commit().ok());
  }
  ObjectId text_id = ObjectId::Of(text), random_id = ObjectId::Of(random);
  ObjectStore::Location t = *store.Locate(text_id), r = *store.Locate(random_id);
  EXPECT_TRUE(t.packed && t.compressed);
  EXPECT_LT(t.length, text.size() / 4);
  EXPECT_TRUE(r.packed && !r.compressed);
  EXPECT_EQ(r.length, random.size());
  EXPECT_EQ(*store.SizeOf(text_id), text.size());
  EXPECT_EQ(*store.Read(text_id), text);
  EXPECT_EQ(*store.Read(random_id), random);

  testing::DamageObject(store, text_id, t.length / 2);
  std::string got;
  Status st = store.Stream(text_id, [&](std::string_view p) {
    got.append(p);
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
  EXPECT_TRUE(got.empty());
}

// A compressed object larger than one piece is decompressed a piece at a
// time (memory stays flat): the sink gets pieces of at most 1 MiB, and a
// damaged one never whole.
TEST(PackedStore, ALargeCompressedObjectIsReadInPieces) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  std::string text;
  for (int i = 0; text.size() < (3u << 20); i++)
    text += "line " + std::to_string(i) + ": " + std::to_string(i * 7919 % 1000) + "\n";
  ObjectId id = ObjectId::Of(text);
  {
    WriteBatch batch(store);
    ASSERT_TRUE(batch.Put(text).ok());
    ASSERT_TRUE(batch.Commit().ok());
  }
  ObjectStore::Location where = *store.Locate(id);
  ASSERT_TRUE(where.compressed);
  std::string got;
  size_t pieces = 0, largest = 0;
  ASSERT_TRUE(store
                  .Stream(id,
                          [&](std::string_view p) {
                            got.append(p);
                            pieces++;
                            largest = std::max(largest, p.size());
                            return Status::Ok();
                          })
                  .ok());
  EXPECT_TRUE(got == text);
  EXPECT_GE(pieces, 3u);
  EXPECT_LE(largest, size_t{1} << 20);

  testing::DamageObject(store, id, where.length / 2);
  std::string partial;
  Status st = store.Stream(id, [&](std::string_view p) {
    partial.append(p);
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
  EXPECT_LT(partial.size(), text.size());
}

// Past the process's memory budget, a writer spills to a temp file and an
// object is stored uncompressed: nothing waits, nothing fails, and the
// budget is given back whole.
TEST(MemoryBudgetTest, WritersSpillAndCompressionStopsPastIt) {
  TempDir dir;
  ObjectStore store = *ObjectStore::Open(dir.path());
  MemoryBudget& budget = MemoryBudget::Global();
  uint64_t before = budget.used();
  budget.set_limit(budget.used() + (1u << 20));
  std::string big(2u << 20, 'b');
  {
    Result<ObjectWriter> w = store.NewWriter();
    ASSERT_TRUE(w.ok() && w->Append(big).ok());
    EXPECT_FALSE(fs::is_empty(dir.path() / "tmp")) << "past the budget: a temp file";
    ASSERT_TRUE(w->Finish(ObjectId::Of(big)).ok());
    WriteBatch batch(store);
    ASSERT_TRUE(batch.Add(std::move(*w)).ok());
    ASSERT_TRUE(batch.Commit().ok());
  }
  EXPECT_EQ(*store.Read(ObjectId::Of(big)), big);
  budget.set_limit(0);
  std::string text(100 << 10, 't');
  EXPECT_FALSE(CompressForStorage(text).has_value()) << "no room: stored raw";
  budget.set_limit(MemoryBudget::kDefaultLimit);
  EXPECT_TRUE(CompressForStorage(text).has_value());
  EXPECT_EQ(budget.used(), before);
}

}  // namespace
}  // namespace converge

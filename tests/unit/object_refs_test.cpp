// The one object validation of store/object_refs.h (what each kind names,
// with the sizes it promises; every reference present with its size) and the
// object records of store/object_records.h.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "store/db.h"
#include "store/object_records.h"
#include "store/object_refs.h"
#include "support/process.h"
#include "support/server_db.h"

namespace converge {
namespace {

using testing::TempDir;

ObjectId IdOf(const std::string& s) {
  return ObjectId::Of(s);
}

Entry File(std::string name, const ObjectId& id, uint64_t size, bool chunked = false) {
  Entry e;
  e.name = std::move(name);
  e.type = EntryType::kFile;
  e.id = id;
  e.size = size;
  e.chunked = chunked;
  return e;
}

Entry Dir(std::string name, const ObjectId& id) {
  Entry e;
  e.name = std::move(name);
  e.type = EntryType::kDir;
  e.id = id;
  return e;
}

Entry Link(std::string name, std::string target) {
  Entry e;
  e.name = std::move(name);
  e.type = EntryType::kSymlink;
  e.target = std::move(target);
  return e;
}

Snap SnapOf(const ObjectId& root) {
  Snap s;
  s.root = root;
  s.created_at = "2026-01-01T00:00:00Z";
  return s;
}

std::string ManifestOf(std::vector<Entry> entries) {
  Manifest m{std::move(entries)};
  EXPECT_TRUE(NormalizeManifest(m).ok());
  return EncodeManifest(m);
}

// What a lookup holds, by (kind, id).
struct Holdings {
  std::map<std::pair<ObjectKind, ObjectId>, HeldObject> held;
  HeldLookup Lookup() const {
    return [this](ObjectKind k, const ObjectId& id) -> Result<std::optional<HeldObject>> {
      auto it = held.find({k, id});
      if (it == held.end()) return std::optional<HeldObject>();
      return std::optional<HeldObject>(it->second);
    };
  }
};

TEST(RefsAndSizes, BlobNamesNothingAndHoldsItsBytes) {
  auto f = RefsAndSizes(ObjectKind::kBlob, "hello");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->refs.empty());
  EXPECT_EQ(f->content_size, 5u);
}

TEST(RefsAndSizes, ManifestNamesEachEntryKindWithItsPromisedSize) {
  ObjectId blob = IdOf("b"), list = IdOf("l"), sub = IdOf("m");
  std::string bytes = ManifestOf({File("a.txt", blob, 1), File("big", list, 9000, true),
                                  Dir("src", sub), Link("ln", "a.txt")});
  auto f = RefsAndSizes(ObjectKind::kManifest, bytes);
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->refs.size(), 3u);  // the symlink names nothing
  EXPECT_EQ(f->refs[0].ref, (ObjectRef{ObjectKind::kBlob, blob}));
  EXPECT_EQ(f->refs[0].name, "a.txt");
  EXPECT_EQ(f->refs[0].size, std::optional<uint64_t>(1));
  EXPECT_EQ(f->refs[1].ref, (ObjectRef{ObjectKind::kChunkList, list}));
  EXPECT_EQ(f->refs[1].size, std::optional<uint64_t>(9000));
  EXPECT_EQ(f->refs[2].ref, (ObjectRef{ObjectKind::kManifest, sub}));
  EXPECT_TRUE(f->refs[2].dir());
  EXPECT_EQ(f->refs[2].size, std::nullopt);  // a directory promises no size
  EXPECT_EQ(f->content_size, 0u);
}

TEST(RefsAndSizes, SnapNamesItsRootAndChunkListItsChunks) {
  Snap s = SnapOf(IdOf("root"));
  auto snap = RefsAndSizes(ObjectKind::kSnap, EncodeSnap(s));
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  ASSERT_EQ(snap->refs.size(), 1u);
  EXPECT_EQ(snap->refs[0].ref, (ObjectRef{ObjectKind::kManifest, s.root}));
  EXPECT_EQ(snap->refs[0].size, std::nullopt);

  ChunkList c{7, {{IdOf("c1"), 3}, {IdOf("c2"), 4}}};
  auto list = RefsAndSizes(ObjectKind::kChunkList, EncodeChunkList(c));
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->refs.size(), 2u);
  EXPECT_EQ(list->refs[1].ref, (ObjectRef{ObjectKind::kBlob, IdOf("c2")}));
  EXPECT_EQ(list->refs[1].size, std::optional<uint64_t>(4));
  EXPECT_EQ(list->content_size, 7u);
}

TEST(RefsAndSizes, NonCanonicalBytesAreCorrupt) {
  auto f = RefsAndSizes(ObjectKind::kManifest, "{\"entries\": []}");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kCorrupt);
  EXPECT_FALSE(RefsAndSizes(ObjectKind::kSnap, "not json").ok());
}

TEST(CheckRefs, EveryReferenceHeldWithItsSizeIsOkAndGivesTheDepth) {
  ObjectId blob = IdOf("b"), list = IdOf("l"), sub = IdOf("m");
  auto f =
      RefsAndSizes(ObjectKind::kManifest,
                   ManifestOf({File("a", blob, 1), File("big", list, 9000, true), Dir("d", sub)}));
  ASSERT_TRUE(f.ok());
  Holdings h;
  h.held[{ObjectKind::kBlob, blob}] = {1, 1, 0};
  h.held[{ObjectKind::kChunkList, list}] = {120, 9000, 0};
  h.held[{ObjectKind::kManifest, sub}] = {50, 0, 4};
  auto r = CheckRefs(ObjectKind::kManifest, *f, h.Lookup());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->depth, 5u);  // one deeper than its subdirectory
}

TEST(CheckRefs, MissingReferencesAreAllCountedAndTheFirstNamed) {
  std::vector<Entry> entries;
  for (int i = 0; i < 25; i++)
    entries.push_back(File("f" + std::to_string(i), IdOf(std::to_string(i)), 1));
  auto f = RefsAndSizes(ObjectKind::kManifest, ManifestOf(entries));
  ASSERT_TRUE(f.ok());
  Holdings none;
  auto r = CheckRefs(ObjectKind::kManifest, *f, none.Lookup());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->missing_total, 25u);
  EXPECT_EQ(r->missing.size(), RefReport::kMaxNamed);
}

TEST(CheckRefs, ASizeMismatchNamesTheReferenceAndWhatItHolds) {
  ChunkList c{7, {{IdOf("c1"), 3}, {IdOf("c2"), 4}}};
  auto f = RefsAndSizes(ObjectKind::kChunkList, EncodeChunkList(c));
  ASSERT_TRUE(f.ok());
  Holdings h;
  h.held[{ObjectKind::kBlob, IdOf("c1")}] = {3, 3, 0};
  h.held[{ObjectKind::kBlob, IdOf("c2")}] = {5, 5, 0};
  auto r = CheckRefs(ObjectKind::kChunkList, *f, h.Lookup());
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->mismatch.has_value());
  EXPECT_EQ(r->mismatch->ref.id, IdOf("c2"));
  EXPECT_EQ(r->mismatch_holds, 5u);
  EXPECT_EQ(r->missing_total, 0u);
}

TEST(CheckRefs, ASnapIsAsDeepAsItsRootAndAnUnmeasuredRootIsNamed) {
  Snap s = SnapOf(IdOf("root"));
  auto f = RefsAndSizes(ObjectKind::kSnap, EncodeSnap(s));
  ASSERT_TRUE(f.ok());
  Holdings h;
  h.held[{ObjectKind::kManifest, s.root}] = {10, 0, 7};
  auto r = CheckRefs(ObjectKind::kSnap, *f, h.Lookup());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->depth, 7u);
  h.held[{ObjectKind::kManifest, s.root}].depth.reset();
  r = CheckRefs(ObjectKind::kSnap, *f, h.Lookup());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->unmeasured, std::optional<ObjectId>(s.root));
}

TEST(CheckRefs, ALookupErrorStopsTheCheck) {
  auto f = RefsAndSizes(ObjectKind::kManifest, ManifestOf({File("a", IdOf("a"), 1)}));
  ASSERT_TRUE(f.ok());
  HeldLookup broken = [](ObjectKind, const ObjectId&) -> Result<std::optional<HeldObject>> {
    return IoError("disk gone");
  };
  auto r = CheckRefs(ObjectKind::kManifest, *f, broken);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIo);
}

// The records on a real server database: linking, holding, unlinking.
class ObjectRecordsTest : public testing::ServerDbTest {};
CONVERGE_ON_BOTH_ENGINES(ObjectRecordsTest);

TEST_P(ObjectRecordsTest, LinkHoldUnlinkDrop) {
  Db* db = &*db_;
  ASSERT_TRUE(db->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('u', 1, 't')").ok());
  ASSERT_TRUE(
      db->Exec("INSERT INTO repos (name, created_at, created_by) VALUES ('r', 't', 1)").ok());
  ObjectRecords records(*db);
  ObjectId a = IdOf("a"), m = IdOf("m");
  {
    auto tx = db->BeginWrite();
    ASSERT_TRUE(tx.ok());
    auto added = records.Link(
        1, {{ObjectKind::kBlob, a, {1, 1, 0}}, {ObjectKind::kManifest, m, {40, 0, 3}}});
    ASSERT_TRUE(added.ok()) << added.status().message();
    EXPECT_EQ(*added, 2u);
    auto again = records.Link(1, {{ObjectKind::kBlob, a, {1, 1, 0}}});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 0u);  // already held
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto held = records.Held(1, ObjectKind::kManifest, m);
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_EQ((*held)->size, 40u);
  EXPECT_EQ((*held)->depth, std::optional<uint64_t>(3));
  auto other = records.Held(2, ObjectKind::kManifest, m);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());  // another repo holds nothing
  auto count = records.Count();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2u);

  size_t rows = 0;
  ASSERT_TRUE(records
                  .ForEachHeld(1,
                               [&](const ObjectRow& r) {
                                 EXPECT_TRUE(r.kind && r.id && r.sizes);
                                 rows++;
                                 return Status::Ok();
                               })
                  .ok());
  EXPECT_EQ(rows, 2u);

  ASSERT_TRUE(records.Unlink(1, ObjectKind::kBlob, a).ok());
  ASSERT_TRUE(records.DropIfUnheld(ObjectKind::kBlob, a).ok());
  ASSERT_TRUE(records.DropIfUnheld(ObjectKind::kManifest, m).ok());  // still held: kept
  count = records.Count();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1u);
  held = records.Held(1, ObjectKind::kBlob, a);
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(held->has_value());
}

// Link and HeldAmong send one statement per batch of objects: the batches'
// edges (a full one, a short last one, one object) answer as one row at a
// time does.
TEST_P(ObjectRecordsTest, ManyObjectsLinkAndAnswerAsOneAtATime) {
  Db* db = &*db_;
  ASSERT_TRUE(db->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('u', 1, 't')").ok());
  ASSERT_TRUE(
      db->Exec("INSERT INTO repos (name, created_at, created_by) VALUES ('r', 't', 1)").ok());
  ObjectRecords records(*db);
  const size_t linked = ObjectRecords::kBatch + 45;  // a full batch and a short one
  std::vector<NewObject> objects;
  for (size_t i = 0; i < linked; i++)
    objects.push_back({ObjectKind::kBlob, IdOf("blob " + std::to_string(i)), {i + 1, i + 1, 0}});
  objects.push_back({ObjectKind::kManifest, IdOf("blob 0"), {7, 0, 2}});  // same ID, other kind
  {
    auto tx = db->BeginWrite();
    ASSERT_TRUE(tx.ok());
    auto added = records.Link(1, objects);
    ASSERT_TRUE(added.ok()) << added.status().message();
    EXPECT_EQ(*added, linked + 1);
    ASSERT_TRUE(tx->Commit().ok());
  }
  // Held and unheld IDs, some twice, over more than one batch.
  std::vector<ObjectRef> ask;
  for (size_t i = 0; i < 2 * linked; i += 2)
    ask.push_back({ObjectKind::kBlob, IdOf("blob " + std::to_string(i))});
  for (size_t i = 0; i < linked; i += 3)
    ask.push_back({ObjectKind::kBlob, IdOf("blob " + std::to_string(i))});
  ask.push_back({ObjectKind::kManifest, IdOf("blob 0")});  // kinds mix
  ask.push_back({ObjectKind::kSnap, IdOf("blob 0")});      // not held as a snap
  EXPECT_GT(ask.size(), ObjectRecords::kBatch);           // a full batch and a short one
  auto held = records.HeldAmong(1, ask);
  ASSERT_TRUE(held.ok()) << held.status().message();
  size_t found = 0;
  std::set<std::pair<ObjectKind, ObjectId>> distinct_held;
  for (const ObjectRef& ref : ask) {
    auto one = records.Held(1, ref.kind, ref.id);
    ASSERT_TRUE(one.ok());
    auto it = held->find({ref.kind, ref.id});
    ASSERT_EQ(it != held->end(), one->has_value()) << KindName(ref.kind) << " " << ref.id.hex();
    if (it == held->end()) continue;
    found++;
    distinct_held.insert({ref.kind, ref.id});
    EXPECT_EQ(it->second.size, (*one)->size);
    EXPECT_EQ(it->second.content_size, (*one)->content_size);
    EXPECT_EQ(it->second.depth, (*one)->depth);
  }
  EXPECT_EQ(held->size(), distinct_held.size());  // nothing not asked for
  EXPECT_GT(found, held->size());                 // some asked twice
  auto manifest = held->find({ObjectKind::kManifest, IdOf("blob 0")});
  ASSERT_NE(manifest, held->end());
  EXPECT_EQ(manifest->second.depth, std::optional<uint64_t>(2));
  // Another repo holds nothing; no objects, no answers.
  auto other = records.HeldAmong(2, ask);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
  auto none = records.HeldAmong(1, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// An object listed twice in one Link (a pack may carry it twice) is one new
// link, and what the repo held before is not counted again.
TEST_P(ObjectRecordsTest, LinkCountsAnObjectListedTwiceOnce) {
  Db* db = &*db_;
  ASSERT_TRUE(db->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('u', 1, 't')").ok());
  ASSERT_TRUE(
      db->Exec("INSERT INTO repos (name, created_at, created_by) VALUES ('r', 't', 1)").ok());
  ObjectRecords records(*db);
  NewObject a{ObjectKind::kBlob, IdOf("a"), {1, 1, 0}}, b{ObjectKind::kBlob, IdOf("b"), {1, 1, 0}},
      c{ObjectKind::kBlob, IdOf("c"), {1, 1, 0}};
  auto tx = db->BeginWrite();
  ASSERT_TRUE(tx.ok());
  auto added = records.Link(1, {a, b, a});
  ASSERT_TRUE(added.ok()) << added.status().message();
  EXPECT_EQ(*added, 2u);
  added = records.Link(1, {b, c, c, a});
  ASSERT_TRUE(added.ok()) << added.status().message();
  EXPECT_EQ(*added, 1u);
  ASSERT_TRUE(tx->Commit().ok());
  auto count = records.Count();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3u);
}

TEST_P(ObjectRecordsTest, UnmeasuredRowsGetTheirDepth) {
  Db* db = &*db_;
  ObjectId m = IdOf("m");
  Result<Stmt> row = db->Prepare(
      "INSERT INTO objects (id, kind, size, content_size, depth) VALUES (?, ?, 10, 0, NULL)");
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(row->BindBlob(1, IdBytes(m)).Bind(2, KindCode(ObjectKind::kManifest)).Run().ok());
  ObjectRecords records(*db);
  auto todo = records.Unmeasured();
  ASSERT_TRUE(todo.ok());
  ASSERT_EQ(todo->size(), 1u);
  EXPECT_EQ((*todo)[0], (ObjectRef{ObjectKind::kManifest, m}));
  ASSERT_TRUE(records.SetDepth(ObjectKind::kManifest, m, 2).ok());
  todo = records.Unmeasured();
  ASSERT_TRUE(todo.ok());
  EXPECT_TRUE(todo->empty());
}

}  // namespace
}  // namespace converge

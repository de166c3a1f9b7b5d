// Object intake and distribution in-process (server/object_intake.h,
// docs/api.md "What the server checks on intake"): bytes must hash to their
// id, references must already be in the repo (or earlier in the same pack),
// and every answer comes from the repo's own set, so one repo never learns
// what another holds. Objects go out again one by one or as a pack.
#include "service_fixture.h"

namespace converge::testing {
namespace {

class ObjectsServiceTest : public AliceRepoTest {
 protected:
  void SetUp() override {
    AliceRepoTest::SetUp();
    if (!HasFatalFailure()) NewRepo("other", alice_);
  }
  Result<wire::StoredObject> Put(const std::string& repo, const TestObject& o,
                                 const std::string& bytes) {
    auto body = [&](const ObjectIntake::Sink& sink) { return sink(bytes); };
    return objects().Put(alice_, repo, o.kind, o.hex(), body);
  }
  Result<wire::PackResult> PutPack(const std::string& repo, const std::string& pack) {
    auto body = [&](const ObjectIntake::Sink& sink) { return sink(pack); };
    return objects().PutPack(alice_, repo, body);
  }
  static wire::ObjectIdSet IdsOf(const std::vector<TestObject>& list) {
    wire::ObjectIdSet ids;
    for (const TestObject& o : list) ids.of(o.kind).push_back(o.id);
    return ids;
  }
};

TEST_F(ObjectsServiceTest, BytesMustHashToTheirIdAndReferencesMustBeHeld) {
  TestTree tree = MakeTree("intake");
  const TestObject& blob = tree.objects[0];
  EXPECT_TRUE(HasCode(Put("web", blob, blob.bytes + "x").status(), Code::kCorrupt));
  // The root manifest references what the repo does not hold yet.
  EXPECT_TRUE(HasCode(Put("web", tree.objects[3], tree.objects[3].bytes).status(), Code::kCorrupt));
  EXPECT_EQ(Must(objects().Missing(alice_, "web", IdsOf(tree.objects))).size(), 5u);

  wire::StoredObject first = Must(Put("web", blob, blob.bytes));
  EXPECT_TRUE(first.stored);
  EXPECT_EQ(first.size, blob.bytes.size());
  EXPECT_FALSE(Must(Put("web", blob, blob.bytes)).stored);  // the repo had it
  Upload(alice_, "web", tree.objects);
  EXPECT_EQ(Must(objects().Missing(alice_, "web", IdsOf(tree.objects))).size(), 0u);
}

TEST_F(ObjectsServiceTest, AnswersComeFromTheRepoItselfNotFromWhatOthersHold) {
  TestTree tree = MakeTree("shared");
  Upload(alice_, "web", tree.objects);
  wire::ObjectIdSet ids = IdsOf(tree.objects);
  EXPECT_EQ(Must(objects().Missing(alice_, "other", ids)).size(), 5u);
  const TestObject& blob = tree.objects[0];
  EXPECT_TRUE(
      HasCode(sender().Locate(alice_, "other", blob.kind, blob.hex()).status(), Code::kNotFound));
  Status plan = sender().PlanFetch(alice_, "other", ids).status();
  EXPECT_TRUE(HasCode(plan, Code::kNotFound));
  EXPECT_NE(plan.message().find("other"), std::string::npos) << plan.message();
  // Uploading it there is new to that repo, though the bytes are on disk.
  EXPECT_TRUE(Must(Put("other", blob, blob.bytes)).stored);
}

TEST_F(ObjectsServiceTest, APackIsTakenInOrderAndServedBack) {
  TestTree tree = MakeTree("pack");
  wire::PackResult took = Must(PutPack("web", PackOf(tree.objects)));
  EXPECT_EQ(took.objects, 5u);
  EXPECT_EQ(took.stored, 5u);
  EXPECT_EQ(Must(PutPack("web", PackOf(tree.objects))).stored, 0u);
  // A pack whose manifest comes before what it references is refused there.
  TestTree late = MakeTree("late");
  std::vector<TestObject> reversed(late.objects.rbegin(), late.objects.rend());
  EXPECT_TRUE(HasCode(PutPack("web", PackOf(reversed)).status(), Code::kCorrupt));

  std::vector<ObjectSender::Located> plan =
      Must(sender().PlanFetch(alice_, "web", IdsOf(tree.objects)));
  ASSERT_EQ(plan.size(), 5u);
  // In ID order, whatever the request's: the lookups then walk the tables
  // and the pack index front to back (object_check.h, ForEachHeld).
  for (size_t i = 1; i < plan.size(); i++) EXPECT_LT(plan[i - 1].id, plan[i].id);
  std::string pack;
  ASSERT_TRUE(sender()
                  .WritePack(plan,
                             [&](std::string_view piece) {
                               pack.append(piece);
                               return Status::Ok();
                             })
                  .ok());
  std::vector<PackedObject> back = ParsePack(pack);
  ASSERT_EQ(back.size(), 5u);
  for (const PackedObject& o : back) EXPECT_EQ(ObjectId::Of(o.bytes), o.id);

  const TestObject& snap = tree.snap();
  ObjectSender::Located one = Must(sender().Locate(alice_, "web", snap.kind, snap.hex()));
  EXPECT_EQ(one.size, snap.bytes.size());
  std::string bytes;
  ASSERT_TRUE(sender()
                  .Stream(one.id,
                          [&](std::string_view piece) {
                            bytes.append(piece);
                            return Status::Ok();
                          })
                  .ok());
  EXPECT_EQ(bytes, snap.bytes);
}

TEST_F(ObjectsServiceTest, TooManyIdsInOneRequestIsTooLarge) {
  wire::ObjectIdSet ids;
  for (uint64_t i = 0; i <= authority().config().max_ids_per_request; i++)
    ids.blobs.push_back(ObjectId::Of(std::to_string(i)));
  EXPECT_TRUE(HasCode(objects().Missing(alice_, "web", ids).status(), Code::kTooLarge));
  EXPECT_TRUE(HasCode(sender().PlanFetch(alice_, "web", ids).status(), Code::kTooLarge));
}

}  // namespace
}  // namespace converge::testing

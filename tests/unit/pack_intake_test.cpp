// The server's role in receiving a pack (server/pack_transfer.h), in
// process: the shared receiver and reference check with the repo's records.
#include <gtest/gtest.h>

#include "api/pack.h"
#include "server/pack_transfer.h"
#include "store/compress.h"
#include "store/object_records.h"
#include "support/process.h"

namespace converge {
namespace {

using testing::TempDir;

class PackIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Db::Open(dir_.path() / "converge.db", DbRole::kServer);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_.emplace(std::move(*db));
    ASSERT_TRUE(
        db_->Exec("INSERT INTO users (handle, admin, created_at) VALUES ('u', 1, 't')").ok());
    ASSERT_TRUE(
        db_->Exec("INSERT INTO repos (name, created_at, created_by) VALUES ('r', 't', 1)").ok());
    auto store = ObjectStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_.emplace(std::move(*store));
  }

  Result<wire::PackResult> Receive(const std::string& pack) {
    return ReceivePack(pool_, *store_, 1, config_, [&](const ObjectIntake::Sink& sink) {
      for (size_t i = 0; i < pack.size(); i += 3)
        RETURN_IF_ERROR(sink(std::string_view(pack).substr(i, 3)));
      return Status::Ok();
    });
  }

  bool Holds(ObjectKind kind, const std::string& bytes) {
    auto h = ObjectRecords(*db_).Held(1, kind, ObjectId::Of(bytes));
    return h.ok() && h->has_value();
  }

  static std::string Framed(ObjectKind kind, const std::string& bytes) {
    return PackObjectHeader(kind, ObjectId::Of(bytes), bytes.size()) + bytes;
  }

  static std::string ManifestNaming(const std::string& blob, uint64_t size) {
    Entry e;
    e.name = "a.txt";
    e.id = ObjectId::Of(blob);
    e.size = size;
    return EncodeManifest(Manifest{{e}});
  }

  TempDir dir_;
  std::optional<Db> db_;
  DbPool pool_{ServerDb::For(dir_.path(), "sqlite"), 0};  // the same file, for ReceivePack
  std::optional<ObjectStore> store_;
  ServerConfig config_;
};

TEST_F(PackIntakeTest, ObjectsNamingEarlierOnesInThePackAreTakenAndRecorded) {
  std::string blob = "hello", manifest = ManifestNaming(blob, blob.size());
  auto r = Receive(std::string(kPackMagic) + Framed(ObjectKind::kBlob, blob) +
                   Framed(ObjectKind::kManifest, manifest) + std::string(kPackEnd));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->objects, 2u);
  EXPECT_EQ(r->stored, 2u);
  EXPECT_TRUE(Holds(ObjectKind::kBlob, blob));
  EXPECT_TRUE(Holds(ObjectKind::kManifest, manifest));
}

// A manifest's entries are found among what the repo held before the pack
// (read in one batch) and what came earlier in it, whichever holds each.
TEST_F(PackIntakeTest, AManifestNamingHeldObjectsAndEarlierOnesInThePackIsTaken) {
  std::string old_blob = "from before", new_blob = "in this pack";
  auto first = Receive(std::string(kPackMagic) + Framed(ObjectKind::kBlob, old_blob) +
                       std::string(kPackEnd));
  ASSERT_TRUE(first.ok()) << first.status().message();
  Entry a, b;
  a.name = "a.txt";
  a.id = ObjectId::Of(old_blob);
  a.size = old_blob.size();
  b.name = "b.txt";
  b.id = ObjectId::Of(new_blob);
  b.size = new_blob.size();
  std::string manifest = EncodeManifest(Manifest{{a, b}});
  auto r = Receive(std::string(kPackMagic) + Framed(ObjectKind::kBlob, new_blob) +
                   Framed(ObjectKind::kManifest, manifest) + std::string(kPackEnd));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stored, 2u);
  EXPECT_TRUE(Holds(ObjectKind::kManifest, manifest));
  // A size the held object does not have is still caught.
  a.size = old_blob.size() + 1;
  std::string wrong = EncodeManifest(Manifest{{a, b}});
  auto bad = Receive(std::string(kPackMagic) + Framed(ObjectKind::kManifest, wrong) +
                     std::string(kPackEnd));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("file 'a.txt' says " + std::to_string(a.size)),
            std::string::npos)
      << bad.status().message();
}

TEST_F(PackIntakeTest, AMissingReferenceNamesThePackObjectAndKeepsWhatCameBefore) {
  std::string first = "kept", manifest = ManifestNaming("never sent", 10);
  auto r = Receive(std::string(kPackMagic) + Framed(ObjectKind::kBlob, first) +
                   Framed(ObjectKind::kManifest, manifest) + std::string(kPackEnd));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("pack object #2 (manifest " + ObjectId::Of(manifest).hex() + ")"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("references objects this repo does not have: blob " +
                   ObjectId::Of("never sent").hex()),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("(the 1 objects before it were verified and kept)"), std::string::npos) << m;
  EXPECT_TRUE(Holds(ObjectKind::kBlob, first));
  EXPECT_FALSE(Holds(ObjectKind::kManifest, manifest));
}

TEST_F(PackIntakeTest, ASizeMismatchIsCorruptAndNamesTheFile) {
  std::string blob = "hello", manifest = ManifestNaming(blob, 6);
  auto r = Receive(std::string(kPackMagic) + Framed(ObjectKind::kBlob, blob) +
                   Framed(ObjectKind::kManifest, manifest) + std::string(kPackEnd));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("file 'a.txt' says 6 bytes but blob " +
                                      ObjectId::Of(blob).hex() + " holds 5"),
            std::string::npos)
      << r.status().message();
}

TEST_F(PackIntakeTest, AMetadataObjectOverTheServersLimitIsRefusedByItsNumber) {
  config_.max_metadata_bytes = 10;
  std::string manifest = ManifestNaming("x", 1);
  auto r = Receive(std::string(kPackMagic) + Framed(ObjectKind::kManifest, manifest) +
                   std::string(kPackEnd));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
  EXPECT_NE(r.status().message().find("the limit for a manifest is 10"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("pack object #1"), std::string::npos);
}

// An object sent against a base (docs/pack.md, "Version 2") is taken only
// against an object of the repo's own: the base's bytes are in the store
// either way, and the answer must not tell the two apart.
TEST_F(PackIntakeTest, AnObjectSentAgainstABaseIsTakenOnlyAgainstTheReposOwn) {
  std::string held(3000, 'h'), elsewhere(3000, 'e');
  auto first =
      Receive(std::string(kPackMagic) + Framed(ObjectKind::kBlob, held) + std::string(kPackEnd));
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(store_->Put(elsewhere).ok());  // in the store, not the repo's (another repo's)
  auto against = [&](const std::string& base, const std::string& now) {
    std::optional<std::string> delta = CompressAgainst(now, base);
    EXPECT_TRUE(delta.has_value());
    EncodedObject h{ObjectKind::kBlob,    ObjectId::Of(now),         now.size(),
                    Encoding::kZstdDelta, delta ? delta->size() : 0, ObjectId::Of(base)};
    std::string pack(kPackMagicV2);
    pack.push_back('\0');
    return Receive(pack + PackObjectHeaderV2(h) + delta.value_or("") + std::string(1, '\0'));
  };
  std::string next = held + "one more line\n";
  auto taken = against(held, next);
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  EXPECT_TRUE(Holds(ObjectKind::kBlob, next));
  EXPECT_EQ(*store_->Read(ObjectId::Of(next)), next);

  std::string other = elsewhere + "one more line\n", nowhere(3000, 'n');
  auto refused = against(elsewhere, other);
  auto unknown = against(nowhere, nowhere + "x");
  ASSERT_FALSE(refused.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(refused.status().code(), Code::kCorrupt);
  EXPECT_EQ(unknown.status().code(), Code::kCorrupt);
  auto without_ids = [](std::string m, const std::vector<std::string>& ids) {
    for (const std::string& id : ids)
      for (size_t at; (at = m.find(id)) != std::string::npos;) m.replace(at, id.size(), "ID");
    return m;
  };
  EXPECT_EQ(without_ids(refused.status().message(),
                        {ObjectId::Of(elsewhere).hex(), ObjectId::Of(other).hex()}),
            without_ids(unknown.status().message(),
                        {ObjectId::Of(nowhere).hex(), ObjectId::Of(nowhere + "x").hex()}));
  EXPECT_NE(refused.status().message().find("which is not in the repo"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("pack object #1 (blob " + ObjectId::Of(other).hex()),
            std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(Holds(ObjectKind::kBlob, other));
  EXPECT_FALSE(store_->Has(ObjectId::Of(other)));
}

}  // namespace
}  // namespace converge

// `converge gc` through the built binary: in a workspace (what a killed snap
// or fetch left is removed once old, every snap, fetched publication and the
// stat cache's objects stay; a dry run changes nothing; damage stops it; a
// fetch and a gc wait for each other) and on a server's data dir beside the
// running server (garbage and duplicate copies go, everything published
// stays fetchable, a publication's tree stays even when no row names it, a
// database that is not the data dir's is refused).
#include <gtest/gtest.h>

#include <set>

#include "store/cas.h"
#include "store/db.h"
#include "store/object_records.h"
#include "store/tree.h"
#include "support/store_helpers.h"
#include "support/team.h"
#include "support/tree_helpers.h"
#include "workspace/lock.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;
using Tree = std::map<std::string, std::string>;
constexpr int64_t kTwoHours = 7200;

std::set<std::string> StoreFiles(const fs::path& root) {
  std::set<std::string> out;
  for (const char* sub : {"packs", "objects"}) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root / sub, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file()) out.insert(it->path().string());
  }
  return out;
}

void Age(const fs::path& store_root) {
  BackdateFiles(store_root / "packs", kTwoHours);
  BackdateFiles(store_root / "objects", kTwoHours);
}

class GcTest : public TeamTest {
 protected:
  void SetUp() override {
    StartTeam();
    ASSERT_EQ(admin_.Run({"repo", "create", "proj"}).exit_code, 0);
    ws_ = admin_.home->path() / "ws";
    meta_ = ws_ / ".converge";
    ASSERT_EQ(admin_.Run({"init", ws_.string()}).exit_code, 0);
    ASSERT_EQ(admin_.Run({"remote", "set", "--url", url_, "--repo", "proj"}, ws_).exit_code, 0);
    for (int round = 0; round < 2; round++) {
      for (int k = 0; k < 8; k++)
        WriteFile(ws_ / ("d" + std::to_string(k % 3)) / ("f" + std::to_string(k) + ".txt"),
                  "round " + std::to_string(round) + " file " + std::to_string(k) + "\n" +
                      std::string(1500, static_cast<char>('a' + k)));
      WriteFile(ws_ / "bin" / ("r" + std::to_string(round)), PseudoRandomBytes(200 << 10, round));
      snaps_.push_back(admin_.Json({"snap", "-m", "round"}, ws_).value("id", ""));
      trees_.push_back(DescribeTree(ws_));
      json pub = admin_.Json({"publish"}, ws_);
      ASSERT_TRUE(pub.contains("publication")) << pub;
      pubs_.push_back(pub["publication"].value("id", ""));
    }
  }

  RunResult RunKilledAt(const fs::path& ws, const std::vector<std::string>& args,
                        const std::string& step) {
    RunOptions o = admin_.Env(ws);
    o.env["CONVERGE_TEST_KILL_AT"] = step;
    return Converge(args, o);
  }

  // Files only this snap has, stored by a snap killed once its pack was
  // visible and before it recorded the snap: garbage. They are gone from the
  // working tree afterwards.
  std::vector<std::string> KillASnap(const std::string& tag) {
    std::vector<std::string> junk;
    for (int k = 0; k < 3; k++) {
      junk.push_back("junk " + tag + " " + std::to_string(k) + "\n" + PseudoRandomBytes(30000, k));
      WriteFile(ws_ / "junk" / ("j" + std::to_string(k)), junk.back());
    }
    RunResult killed = RunKilledAt(ws_, {"snap"}, "index-renamed");
    EXPECT_EQ(killed.exit_code, 128 + 9) << killed.err;
    fs::remove_all(ws_ / "junk");
    return junk;
  }

  void ExpectSnapsRestore(const std::string& when) {
    for (size_t i = 0; i < snaps_.size(); i++) {
      fs::path out = admin_.home->path() / ("out-" + when + std::to_string(i));
      RunResult r = admin_.Run({"restore", snaps_[i], "--to", out.string()}, ws_);
      ASSERT_EQ(r.exit_code, 0) << when << ": " << r.err;
      EXPECT_EQ(DescribeTree(out), trees_[i]) << when << ": snap " << i;
    }
  }

  void ExpectFsckClean(const fs::path& ws, const std::string& when) {
    RunResult r = admin_.Run({"fsck", "--json"}, ws);
    EXPECT_EQ(r.exit_code, 0) << when << ": " << r.out << r.err;
  }

  std::vector<std::string> ServerGcArgs(std::vector<std::string> extra) {
    std::vector<std::string> args = {"gc", "--data-dir", server_->data_dir().string()};
    if (server_->postgres()) args.insert(args.end(), {"--db", server_->db_url()});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  fs::path ws_, meta_;
  std::vector<std::string> snaps_, pubs_;
  std::vector<Tree> trees_;
};

TEST_F(GcTest, AWorkspaceGcRemovesWhatAKilledSnapLeftAndKeepsEverySnap) {
  std::vector<std::string> junk = KillASnap("a");
  Age(meta_);
  std::set<std::string> before = StoreFiles(meta_);
  json dry = admin_.Json({"gc", "--dry-run"}, ws_);
  EXPECT_TRUE(dry.value("dry_run", false)) << dry;
  EXPECT_GE(dry["removed"].value("objects", 0), 4) << dry;  // 3 files and their directory
  EXPECT_EQ(StoreFiles(meta_), before);

  json r = admin_.Json({"gc"}, ws_);
  EXPECT_EQ(r["removed"].value("objects", -1), dry["removed"].value("objects", -2)) << r;
  EXPECT_EQ(r["kept"]["roots"].value("snaps", 0), 2) << r;
  EXPECT_TRUE(r["kept"]["roots"].value("head", false)) << r;
  for (const std::string& j : junk) EXPECT_FALSE(StoreHas(meta_, ObjectId::Of(j)));
  ExpectFsckClean(ws_, "after gc");
  ExpectSnapsRestore("gc");
  // The stat cache's objects stayed: an unchanged re-snap reads nothing and is the head.
  json again = admin_.Json({"snap", "-m", "unchanged"}, ws_);
  ExpectFsckClean(ws_, "after a snap that reused the stat cache");
  json second = admin_.Json({"gc"}, ws_);
  EXPECT_EQ(second["removed"].value("objects", -1), 0) << second;

  RunResult text = admin_.Run({"gc"}, ws_);
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("kept "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("removed 0 unreferenced objects"), std::string::npos) << text.out;
}

TEST_F(GcTest, YoungUnreferencedObjectsStayUntilTheGracePeriodEnds) {
  std::vector<std::string> junk = KillASnap("b");
  json r = admin_.Json({"gc"}, ws_);
  EXPECT_EQ(r["removed"].value("objects", -1), 0) << r;
  EXPECT_GE(r["young"].value("objects", 0), 4) << r;
  for (const std::string& j : junk) EXPECT_TRUE(StoreHas(meta_, ObjectId::Of(j)));
  json now = admin_.Json({"gc", "--grace", "0"}, ws_);
  EXPECT_GE(now["removed"].value("objects", 0), 4) << now;
  for (const std::string& j : junk) EXPECT_FALSE(StoreHas(meta_, ObjectId::Of(j)));
  ExpectSnapsRestore("grace 0");
  ExpectUsageError(admin_.Run({"gc", "--grace"}, ws_));
  ExpectError(admin_.Run({"gc", "--grace", "1w"}, ws_), "grace period 1w");
}

TEST_F(GcTest, WhatAKilledFetchLeftGoesAndTheNextFetchBringsItBack) {
  fs::path reader = admin_.home->path() / "reader";
  ASSERT_EQ(admin_.Run({"init", reader.string()}).exit_code, 0);
  ASSERT_EQ(admin_.Run({"remote", "set", "--url", url_, "--repo", "proj"}, reader).exit_code, 0);
  RunResult killed = RunKilledAt(reader, {"fetch"}, "index-renamed");
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  Age(reader / ".converge");
  json r = admin_.Json({"gc"}, reader);
  EXPECT_GT(r["removed"].value("objects", 0), 10) << r;
  EXPECT_EQ(r["kept"].value("objects", -1), 0) << r;
  json fetched = admin_.Json({"fetch"}, reader);
  ASSERT_EQ(fetched["publications"].size(), 2u) << fetched;
  // Now the fetched publications keep their trees.
  Age(reader / ".converge");
  json kept = admin_.Json({"gc"}, reader);
  EXPECT_EQ(kept["removed"].value("objects", -1), 0) << kept;
  EXPECT_EQ(kept["kept"]["roots"].value("publications", 0), 2) << kept;
  ExpectFsckClean(reader, "after gc");
  fs::path out = admin_.home->path() / "copy";
  ASSERT_EQ(admin_.Run({"restore", pubs_.back(), "--to", out.string()}, reader).exit_code, 0);
  EXPECT_EQ(DescribeTree(out), trees_.back());
}

TEST_F(GcTest, DamageUnderASnapStopsItBeforeAnythingIsRemoved) {
  KillASnap("c");
  Age(meta_);
  ObjectStore store = *ObjectStore::Open(meta_);
  Result<Snap> snap = TreeReader(store).ReadSnap(*ObjectId::FromHex(snaps_[0]));
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  DamageEveryCopy(meta_, snap->root, 10);
  std::set<std::string> before = StoreFiles(meta_);
  RunResult r = admin_.Run({"gc"}, ws_);
  ExpectError(r, "gc cannot tell what is under it");
  EXPECT_NE(r.err.find("converge fsck"), std::string::npos) << r.err;
  EXPECT_EQ(StoreFiles(meta_), before);
}

TEST_F(GcTest, AFetchAndAGcWaitForEachOther) {
  Result<Workspace> ws = Workspace::Find(ws_);
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  {
    Result<GcLock> fetching = GcLock::Shared(*ws, LockOptions{});
    ASSERT_TRUE(fetching.ok()) << fetching.status().message();
    ExpectError(admin_.Run({"--no-wait", "gc"}, ws_), "converge fetch");
  }
  {
    Result<GcLock> collecting = GcLock::Exclusive(*ws, LockOptions{});
    ASSERT_TRUE(collecting.ok()) << collecting.status().message();
    ExpectError(admin_.Run({"--no-wait", "fetch"}, ws_), "converge gc");
  }
  EXPECT_EQ(admin_.Run({"--no-wait", "gc"}, ws_).exit_code, 0);
}

TEST_F(GcTest, AServerGcBesideTheRunningServerKeepsEverythingPublished) {
  fs::path data = server_->data_dir();
  // The same tree published to a second repo: its objects are stored again.
  ASSERT_EQ(admin_.Run({"repo", "create", "copy"}).exit_code, 0);
  ASSERT_EQ(admin_.Run({"remote", "set", "--url", url_, "--repo", "copy"}, ws_).exit_code, 0);
  ASSERT_EQ(admin_.Run({"publish"}, ws_).exit_code, 0);
  // What an upload killed between storing and recording leaves: objects no row names.
  std::vector<std::string> garbage;
  {
    ObjectStore store = *ObjectStore::Open(data);
    WriteBatch batch(store);
    for (int k = 0; k < 20; k++) {
      garbage.push_back("unrecorded " + std::to_string(k) + PseudoRandomBytes(5000, k));
      ASSERT_TRUE(batch.Put(garbage.back()).ok());
    }
    ASSERT_TRUE(batch.Commit().ok());
    garbage.push_back("unrecorded loose");
    ASSERT_TRUE(store.Put(garbage.back()).ok());
  }
  Age(data);
  ExpectError(Converge(ServerGcArgs({"--grace", "1m"})), "grace period under 10 minutes");

  std::set<std::string> before = StoreFiles(data);
  RunResult dry = Converge(ServerGcArgs({"--dry-run", "--json"}));
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(StoreFiles(data), before);
  RunResult run = Converge(ServerGcArgs({"--json"}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json r = json::parse(run.out);
  EXPECT_EQ(r["removed"].value("objects", -1), static_cast<int>(garbage.size())) << r;
  EXPECT_GT(r["removed"].value("duplicate_copies", 0), 10) << r;
  EXPECT_EQ(r["kept"]["roots"].value("repos", 0), 2) << r;
  EXPECT_EQ(r["kept"]["roots"].value("publications", 0), 3) << r;
  EXPECT_EQ(json::parse(dry.out)["removed"], r["removed"]);
  for (const std::string& g : garbage) EXPECT_FALSE(StoreHas(data, ObjectId::Of(g)));
  RunResult fsck = Converge(server_->ServeArgs({"--fsck"}));
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;

  // The running server serves it all, and takes new uploads.
  fs::path reader = admin_.home->path() / "reader";
  ASSERT_EQ(admin_.Run({"init", reader.string()}).exit_code, 0);
  ASSERT_EQ(admin_.Run({"remote", "set", "--url", url_, "--repo", "proj"}, reader).exit_code, 0);
  ASSERT_EQ(admin_.Run({"fetch"}, reader).exit_code, 0);
  fs::path out = admin_.home->path() / "copy-out";
  ASSERT_EQ(admin_.Run({"restore", pubs_.front(), "--to", out.string()}, reader).exit_code, 0);
  EXPECT_EQ(DescribeTree(out), trees_.front());
  WriteFile(ws_ / "after-gc.txt", "new\n");
  ASSERT_EQ(admin_.Run({"snap"}, ws_).exit_code, 0);
  ASSERT_EQ(admin_.Run({"publish"}, ws_).exit_code, 0);
  json again = json::parse(Converge(ServerGcArgs({"--json"})).out);
  EXPECT_EQ(again["removed"].value("objects", -1), 0) << again;
}

TEST_F(GcTest, APublicationKeepsItsTreeWhenNoRowNamesIt) {
  // As after a repair: the repo no longer holds the publication's snap nor
  // its tree, and no objects row records them; the publication needs them.
  ObjectStore store = *ObjectStore::Open(server_->data_dir());
  ObjectId snap = *ObjectId::FromHex(snaps_[0]);
  ObjectId root = TreeReader(store).ReadSnap(snap)->root;
  {
    Result<Db> db = server_->OpenDb();
    ASSERT_TRUE(db.ok()) << db.status().message();
    for (const ObjectId& id : {snap, root})
      for (const char* sql :
           {"DELETE FROM repo_objects WHERE object_id = ?", "DELETE FROM objects WHERE id = ?"}) {
        Result<Stmt> q = db->Prepare(sql);
        ASSERT_TRUE(q.ok()) << q.status().message();
        ASSERT_TRUE(q->BindBlob(1, IdBytes(id)).Run().ok());
      }
  }
  Age(server_->data_dir());
  RunResult run = Converge(ServerGcArgs({"--json"}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(json::parse(run.out)["removed"].value("objects", -1), 0) << run.out;
  EXPECT_TRUE(StoreHas(server_->data_dir(), snap));
  EXPECT_TRUE(StoreHas(server_->data_dir(), root));
}

TEST_F(GcTest, AServerGcRefusesADatabaseThatIsNotTheDataDirs) {
  ServerProcess other;
  fs::path data = server_->data_dir();
  std::set<std::string> before = StoreFiles(data);
  if (server_->postgres()) {
    RunResult r = Converge({"gc", "--data-dir", data.string(), "--db", other.db_url()});
    ExpectError(r, "not this data dir's database");
  } else {
    // Its own converge.db, but another data dir's audit key beside it.
    fs::path pub = data / "audit-key.pub";
    std::string mine = ReadFileOrDie(pub);
    WriteFile(pub, ReadFileOrDie(other.data_dir() / "audit-key.pub"));
    RunResult r = Converge({"gc", "--data-dir", data.string()});
    WriteFile(pub, mine);
    ExpectError(r, "not this data dir's database");
  }
  EXPECT_EQ(StoreFiles(data), before);
  ExpectError(Converge({"gc", "--data-dir", (admin_.home->path() / "nope").string()}),
              "not a converge data dir");
  ExpectError(admin_.Run({"gc", "--db", "sqlite"}, ws_), "go with --data-dir");
}

}  // namespace
}  // namespace converge::testing

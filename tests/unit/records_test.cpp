// The records classes and the one ID-prefix resolver, in-process: the
// resolver (store/id_prefix.h) on its own, the server's publications
// (store/publication_records.h), the workspace's snaps and fetched
// publications (workspace/snap_index.h, workspace/publication_index.h), and a
// workspace database laid down by the schema of the main branch before the
// records moved (it must still open and read).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/random.h"
#include "store/db.h"
#include "store/id_prefix.h"
#include "store/publication_records.h"
#include "support/fake_server.h"
#include "support/process.h"
#include "support/server_db.h"
#include "workspace/publication_index.h"
#include "workspace/snap_index.h"
#include "workspace/snapshot.h"
#include "workspace/stat_cache.h"
#include "workspace/workspace.h"
#include "workspace/workspace_state.h"

namespace converge {
namespace {

using testing::TempDir;

// Two IDs sharing the prefix "abcdef" (and a third that does not).
const std::string kIdA = "abcdef" + std::string(57, '0') + "9";
const std::string kIdB = "abcdef" + std::string(57, '1') + "9";
const std::string kIdC = "0123" + std::string(60, 'a');

Db OpenOrDie(const fs::path& path, DbRole role) {
  Result<Db> db = Db::Open(path, role);
  EXPECT_TRUE(db.ok()) << db.status().message();
  return std::move(*db);
}

// A publication record (FakeServer's: publisher "mallory", note "") under
// a chosen id, so that prefixes can be shared on purpose.
Publication MakePublication(const std::string& id, const std::string& repo, const std::string& snap) {
  Publication p = testing::FakeServer::MakePublication(*ObjectId::FromHex(snap));
  p.id = id;
  p.repo = repo;
  return p;
}

bool Mentions(const Status& s, const std::string& needle) {
  return s.message().find(needle) != std::string::npos;
}

// ---- the resolver ----------------------------------------------------------

class IdPrefixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.emplace(OpenOrDie(dir_ / "ws.db", DbRole::kWorkspace));
    Snap s;
    s.root = ObjectId::Of("root");
    s.created_at = "2026-01-01T00:00:00Z";
    s.workspace_id = "w";
    for (const std::string& id : {kIdA, kIdB, kIdC})
      ASSERT_TRUE(SnapIndex(*db_).Add(*ObjectId::FromHex(id), s, "local").ok());
  }
  Result<std::string> Resolve(const std::string& prefix) {
    return ResolveIdPrefix(*db_, {.table = "snaps", .what = "snap"}, prefix);
  }
  TempDir dir_;
  std::optional<Db> db_;
};

TEST_F(IdPrefixTest, UniquePrefixAndFullId) {
  EXPECT_EQ(*Resolve("0123"), kIdC);
  EXPECT_EQ(*Resolve("abcdef0"), kIdA);
  EXPECT_EQ(*Resolve(kIdB), kIdB);
}

TEST_F(IdPrefixTest, MissingIsNotFound) {
  Result<std::string> r = Resolve("ffff");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no snap matches 'ffff'");
}

TEST_F(IdPrefixTest, AmbiguousIsConflictNamingTheCandidates) {
  Result<std::string> r = Resolve("abcdef");
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_EQ(r.status().message(), "snap ID 'abcdef' is ambiguous: it could be " + kIdA + ", " +
                                      kIdB + "; give more characters");
}

TEST_F(IdPrefixTest, MalformedIsInvalid) {
  for (const char* bad : {"abc", "ABCD", "abcg", "xyz!"}) {
    Result<std::string> r = Resolve(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalid) << bad;
    EXPECT_EQ(r.status().message(), "'" + std::string(bad) + "' is not a snap ID: give at least " +
                                        "4 lowercase hex characters of one");
  }
  EXPECT_EQ(Resolve(std::string(65, 'a')).status().code(), Code::kInvalid);
  EXPECT_EQ(ValidateIdPrefix(std::string(300, 'z'), "snap").message().size(),
            std::string("'' is not a snap ID: give at least 4 lowercase hex characters of one")
                    .size() + 80);
}

TEST_F(IdPrefixTest, ManyCandidatesAreCutAtTen) {
  Snap s;
  s.root = ObjectId::Of("root");
  for (int i = 0; i < 12; i++) {
    std::string id = "eeee" + std::string(58, 'a') + "0" + std::string(1, "0123456789ab"[i]);
    ASSERT_TRUE(SnapIndex(*db_).Add(*ObjectId::FromHex(id), s, "local").ok());
  }
  Result<std::string> r = Resolve("eeee");
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_TRUE(Mentions(r.status(), " and more; give more characters")) << r.status().message();
}

// ---- the server's publications ---------------------------------------------

class PublicationRecordsTest : public testing::ServerDbTest {
 protected:
  void SetUp() override {
    ServerDbTest::SetUp();
    if (NotSetUp()) return;
    ASSERT_TRUE(db_->Exec("INSERT INTO users (id, handle, admin, created_at) VALUES "
                          "(666, 'mallory', 0, 't')")
                    .ok());
    ASSERT_TRUE(db_->Exec("INSERT INTO repos (id, name, created_at, created_by) VALUES "
                          "(1, 'web', 't', 666), (2, 'other', 't', 666)")
                    .ok());
    PublicationRecords records(*db_);
    ASSERT_TRUE(records.Insert(1, MakePublication(kIdA, "web", kIdC)).ok());
    Publication b = MakePublication(kIdB, "web", kIdC);
    b.lane = "fast";
    ASSERT_TRUE(records.Insert(1, b).ok());
    ASSERT_TRUE(records.Insert(2, MakePublication(kIdC, "other", kIdC)).ok());
  }
};
CONVERGE_ON_BOTH_ENGINES(PublicationRecordsTest);

TEST_P(PublicationRecordsTest, InsertIdTakenAndRoundTrip) {
  PublicationRecords records(*db_);
  EXPECT_TRUE(*records.IdTaken(kIdA));
  EXPECT_FALSE(*records.IdTaken(std::string(64, 'f')));
  EXPECT_FALSE(records.Insert(2, MakePublication(kIdA, "other", kIdC)).ok());  // ids are unique
  Result<Publication> got = records.Get(1, "web", kIdA);
  ASSERT_TRUE(got.ok()) << got.status().message();
  Publication want = MakePublication(kIdA, "web", kIdC);
  EXPECT_EQ(got->id, want.id);
  EXPECT_EQ(got->repo, "web");
  EXPECT_EQ(got->snap, want.snap);
  EXPECT_EQ(got->publisher, want.publisher);
  EXPECT_EQ(got->publisher_id, want.publisher_id);
  EXPECT_EQ(got->created_at, want.created_at);
  EXPECT_EQ(got->note, want.note);
}

TEST_P(PublicationRecordsTest, ListNewestFirstFilteredAndPaged) {
  PublicationRecords records(*db_);
  Result<std::vector<PublicationRow>> all = records.List(1, "web", {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].publication.id, kIdB);
  EXPECT_EQ((*all)[1].publication.id, kIdA);
  PublicationRowFilter lane;
  lane.lane = "fast";
  EXPECT_EQ(records.List(1, "web", lane)->size(), 1u);
  PublicationRowFilter page;
  page.before = (*all)[0].seq;
  Result<std::vector<PublicationRow>> older = records.List(1, "web", page);
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].publication.id, kIdA);
  PublicationRowFilter one;
  one.limit = 1;
  EXPECT_EQ(records.List(1, "web", one)->size(), 1u);
}

TEST_P(PublicationRecordsTest, GetByPrefixUniqueMissingAmbiguous) {
  PublicationRecords records(*db_);
  EXPECT_EQ(records.Get(1, "web", "abcdef1")->id, kIdB);
  Result<Publication> amb = records.Get(1, "web", "abcdef");
  EXPECT_EQ(amb.status().code(), Code::kConflict);
  EXPECT_EQ(amb.status().message(), "publication ID 'abcdef' is ambiguous in repo 'web': it could be " +
                                        kIdA + ", " + kIdB + "; give more characters");
  // Another repo's publication is not found here.
  Result<Publication> elsewhere = records.Get(1, "web", "0123");
  EXPECT_EQ(elsewhere.status().code(), Code::kNotFound);
  EXPECT_EQ(elsewhere.status().message(), "no publication matches '0123' in repo 'web'");
  EXPECT_EQ(records.Get(2, "other", "0123")->repo, "other");
  EXPECT_EQ(records.Get(1, "web", "abc").status().code(), Code::kInvalid);
}

// ---- the workspace's records -----------------------------------------------

TEST(SnapIndexRecords, AmbiguousIsConflictAndUncheckedRowsOldestFirst) {
  TempDir dir;
  Db db = OpenOrDie(dir / "ws.db", DbRole::kWorkspace);
  SnapIndex index(db);
  Snap s;
  s.root = ObjectId::Of("root");
  ASSERT_TRUE(index.Add(*ObjectId::FromHex(kIdB), s, "local").ok());
  ASSERT_TRUE(index.Add(*ObjectId::FromHex(kIdA), s, "fetched").ok());
  EXPECT_EQ(index.Resolve("abcdef").status().code(), Code::kConflict);
  EXPECT_EQ(*index.Resolve("abcdef0"), *ObjectId::FromHex(kIdA));
  EXPECT_EQ(index.Resolve("ffff").status().code(), Code::kNotFound);
  ASSERT_TRUE(db.Exec("INSERT INTO snaps (id, root, created_at, message, workspace_id, origin) "
                      "VALUES ('nothex', 'alsonot', '', '', '', 'local')")
                  .ok());
  Result<std::vector<SnapRow>> rows = index.ListUnchecked();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].id_hex, kIdB);
  EXPECT_EQ((*rows)[2].id_hex, "nothex");
  EXPECT_EQ((*rows)[2].root_hex, "alsonot");
}

TEST(PublicationIndexRecords, AddListResolve) {
  TempDir dir;
  Db db = OpenOrDie(dir / "ws.db", DbRole::kWorkspace);
  PublicationIndex index(db);
  Publication a = MakePublication(kIdA, "web", kIdC);
  Publication b = MakePublication(kIdB, "web", kIdC);
  b.created_at = "2026-02-01T00:00:00.000000Z";
  ASSERT_TRUE(index.Add("http://h", a).ok());
  ASSERT_TRUE(index.Add("http://h", b).ok());
  ASSERT_TRUE(index.Add("http://h", a).ok());  // twice: nothing
  Result<std::vector<Publication>> all = index.List({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, kIdB);  // newest first
  EXPECT_EQ((*all)[1].repo, "web");
  LocalPublicationFilter one;
  one.limit = 1;
  EXPECT_EQ(index.List(one)->size(), 1u);
  EXPECT_EQ(index.Resolve("abcdef0")->publisher, "mallory");
  Result<Publication> amb = index.Resolve("abcdef");
  EXPECT_EQ(amb.status().code(), Code::kConflict);
  EXPECT_TRUE(Mentions(amb.status(), "publication ID 'abcdef' is ambiguous: it could be "));
  EXPECT_EQ(index.Resolve("ffff").status().message(), "no publication matches 'ffff'");
  Result<std::vector<FetchedPublicationRow>> rows = index.ListUnchecked();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].id, kIdA);  // oldest first
  EXPECT_EQ((*rows)[0].snap_hex, kIdC);
}

// A command-line ID that names no snap but a fetched publication resolves to
// its snap; an ambiguous one is kConflict (the CLI prints it and exits 1).
TEST(ResolveSnapArg, FetchedPublicationPrefix) {
  InitCrypto();
  TempDir dir;
  Result<Workspace> ws = Workspace::Init(dir / "ws");
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  PublicationIndex index(ws->db());
  ASSERT_TRUE(index.Add("http://h", MakePublication(kIdA, "web", kIdC)).ok());
  ASSERT_TRUE(index.Add("http://h", MakePublication(kIdB, "web", kIdC)).ok());
  EXPECT_EQ(*ResolveSnapArg(*ws, "abcdef0"), *ObjectId::FromHex(kIdC));
  EXPECT_EQ(ResolveSnapArg(*ws, "abcdef").status().code(), Code::kConflict);
  Result<ObjectId> none = ResolveSnapArg(*ws, "ffff");
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_TRUE(Mentions(none.status(), "no snap matches 'ffff', nor does any fetched publication"));
}

// The workspace schema exactly as main's store/schema.cpp wrote it (migration
// 1, user_version 1) before the records moved to workspace/, with rows as
// main's code wrote them. Frozen here on purpose: if a migration is ever
// edited instead of appended, a workspace like this one must still open.
constexpr const char* kMainWorkspaceSchema = R"sql(
CREATE TABLE snaps (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  root TEXT NOT NULL,
  created_at TEXT NOT NULL,
  message TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  parent TEXT,
  origin TEXT NOT NULL DEFAULT 'local'   -- 'local' (snapped here) or 'fetched'
);
CREATE TABLE stat_cache (
  path TEXT PRIMARY KEY,   -- relative, '/'-separated
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  id TEXT NOT NULL,        -- blob or chunk list
  chunked INTEGER NOT NULL,
  racy INTEGER NOT NULL    -- modified too close to when it was hashed: re-read next time
) WITHOUT ROWID;
CREATE TABLE publications (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  repo TEXT NOT NULL,
  snap TEXT NOT NULL,
  scope TEXT NOT NULL,
  gate TEXT NOT NULL,
  lane TEXT NOT NULL,
  publisher_id INTEGER NOT NULL,
  publisher_handle TEXT NOT NULL,
  created_at TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  client_version TEXT NOT NULL,
  host TEXT NOT NULL,
  note TEXT NOT NULL,
  fetched_at TEXT NOT NULL
);
CREATE INDEX publications_by_time ON publications(created_at);
CREATE TABLE state (
  key TEXT PRIMARY KEY,    -- 'head': the snap the working tree was last captured as or restored to
  value TEXT NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

TEST(WorkspaceSchema, AWorkspaceMadeByMainStillOpens) {
  InitCrypto();
  TempDir dir;
  fs::path meta = dir / "ws" / ".converge";
  fs::create_directories(meta);
  ::chmod(meta.c_str(), 0700);
  std::ofstream(meta / "config.json") << R"({"version": 1, "workspace_id": "0123456789abcdef"})";
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((meta / "converge.db").c_str(), &raw), SQLITE_OK);
    std::string rows = std::string(kMainWorkspaceSchema) +
                       "INSERT INTO snaps (id, root, created_at, message, workspace_id, parent, "
                       "origin) VALUES ('" + kIdA + "', '" + kIdC + "', 't', 'first', 'w', NULL, "
                       "'local');"
                       "INSERT INTO state (key, value) VALUES ('head', '" + kIdA + "');"
                       "INSERT INTO state (key, value) VALUES ('lanes http://h web', 'default\n');"
                       "INSERT INTO stat_cache (path, size, mtime_ns, ctime_ns, ino, mode, id, "
                       "chunked, racy) VALUES ('a.txt', 6, 1, 1, 7, 33188, '" + kIdC + "', 0, 0);"
                       "INSERT INTO publications (id, url, repo, snap, scope, gate, lane, "
                       "publisher_id, publisher_handle, created_at, workspace_id, client_version, "
                       "host, note, fetched_at) VALUES ('" + kIdB + "', 'http://h', 'web', '" +
                       kIdA + "', 'main', 'dev-intake', 'default', 1, 'alice', 't', 'w', 'v', "
                       "'h', 'n', 't');";
    char* err = nullptr;
    int rc = sqlite3_exec(raw, rows.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(raw);
  }
  Result<Workspace> ws = Workspace::Find(dir / "ws");
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  EXPECT_EQ(**SnapIndex(ws->db()).Head(), *ObjectId::FromHex(kIdA));
  EXPECT_EQ(SnapIndex(ws->db()).List(false)->front().snap.message, "first");
  EXPECT_EQ(*ResolveSnapArg(*ws, "abcdef0"), *ObjectId::FromHex(kIdA));  // the snap
  EXPECT_EQ(*ResolveSnapArg(*ws, "abcdef1"), *ObjectId::FromHex(kIdA));  // the publication's
  EXPECT_EQ(PublicationIndex(ws->db()).List({})->front().publisher, "alice");
  EXPECT_EQ(*PublicationIndex(ws->db()).KnownLanes("http://h", "web"),
            std::vector<std::string>{"default"});
  // No stat cache file yet: the table's rows are the cache.
  Result<StatCache> cache = StatCache::Load(ws->meta(), ws->db());
  ASSERT_TRUE(cache.ok());
  EXPECT_TRUE(cache->from_table());
  ASSERT_TRUE(cache->Find("a.txt").has_value());
  EXPECT_EQ(cache->Find("a.txt")->stat.size, 6u);
  // And it takes new records as before.
  ASSERT_TRUE(WorkspaceState(ws->db()).Set(WorkspaceState::kHead, kIdC).ok());
  EXPECT_EQ(**WorkspaceState(ws->db()).Get(WorkspaceState::kHead), kIdC);
}

}  // namespace
}  // namespace converge

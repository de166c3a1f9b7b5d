// The audit records (store/records/audit.h) on a real server database, the
// append (server/audit.h) that chains and signs through them, and the one
// chain checker (server/audit_verify.h) that `serve --fsck` now shares.
#include <gtest/gtest.h>

#include "server/audit.h"
#include "server/audit_verify.h"
#include "server/authority.h"
#include "server/fsck.h"
#include "store/db.h"
#include "store/records/audit.h"
#include "support/process.h"
#include "support/server_db.h"

namespace converge {
namespace {

using testing::TempDir;

AuditRow SomeRow(int64_t seq, std::string prev_hash) {
  AuditRow r;
  r.seq = seq;
  r.at = "2026-01-01T00:00:0" + std::to_string(seq) + "Z";
  if (seq % 2) r.facts.actor_id = seq;
  r.facts.actor = "alice";
  r.facts.action = "repo.create";
  r.facts.repo = seq % 2 ? "web" : "api";
  r.facts.target = "t" + std::to_string(seq);
  r.facts.detail = "row " + std::to_string(seq);
  r.facts.remote_addr = "127.0.0.1";
  r.prev_hash = std::move(prev_hash);
  r.hash = std::string(63, 'a') + std::to_string(seq);
  return r;
}

class AuditRecordsTest : public testing::ServerDbTest {};
CONVERGE_ON_BOTH_ENGINES(AuditRecordsTest);

TEST_P(AuditRecordsTest, RowsGoInAsGivenAndComeOutNewestFirst) {
  AuditRecords audit(*db_);
  EXPECT_FALSE(audit.Newest()->has_value());
  EXPECT_EQ(*audit.Count(), 0);
  std::string prev = kAuditGenesis;
  for (int64_t seq = 1; seq <= 5; seq++) {
    AuditRow r = SomeRow(seq, prev);
    ASSERT_TRUE(audit.Insert(r).ok());
    prev = r.hash;
  }
  EXPECT_EQ(audit.Insert(SomeRow(3, prev)).code(), Code::kConflict);  // seq taken
  EXPECT_EQ(*audit.Count(), 5);
  std::optional<AuditLink> newest = *audit.Newest();
  ASSERT_TRUE(newest);
  EXPECT_EQ(newest->seq, 5);
  EXPECT_EQ(newest->hash, SomeRow(5, "").hash);

  std::vector<AuditRow> page = *audit.Page(std::nullopt, 5, 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].seq, 4);
  EXPECT_EQ(page[1].seq, 3);
  EXPECT_EQ(page[0].facts.actor_id, std::nullopt);
  EXPECT_EQ(page[1].facts.actor_id, 3);
  EXPECT_EQ(page[1].facts.detail, "row 3");
  std::vector<AuditRow> web = *audit.Page(std::string("web"), INT64_MAX, 10);
  ASSERT_EQ(web.size(), 3u);
  EXPECT_EQ(web[0].seq, 5);
  EXPECT_EQ(web[2].seq, 1);
  EXPECT_EQ(web[2].prev_hash, kAuditGenesis);

  std::vector<int64_t> seen;
  ASSERT_TRUE(audit
                  .ForEachNewestFirst(4,
                                      [&](const AuditRow& r) {
                                        seen.push_back(r.seq);
                                        return r.seq == 2 ? Invalid("stop") : Status::Ok();
                                      })
                  .code() == Code::kInvalid);
  EXPECT_EQ(seen, (std::vector<int64_t>{4, 3, 2}));
}

// Every filter is a condition of the one query, combined with AND and with
// the paging cursor, on both engines.
TEST_P(AuditRecordsTest, FiltersCombineInTheQuery) {
  AuditRecords audit(*db_);
  struct Spec {
    const char* actor;
    const char* action;
    const char* repo;
    const char* outcome;
    const char* at;
  };
  const std::vector<Spec> specs = {
      {"alice", "repo.create", "web", "ok", "2026-11-01T10:00:00.000000Z"},
      {"bob", "object.read", "web", "refused: not_found", "2026-11-02T10:00:00.000000Z"},
      {"alice", "object.read", "api", "ok", "2026-11-03T10:00:00.000000Z"},
      {"alice", "object.read", "web", "refused: permission", "2026-11-04T10:00:00.000000Z"},
      {"bob", "repo.create", "", "ok", "2026-11-05T10:00:00.000000Z"},
      {"alice", "object.read", "web", "ok", "2026-11-05T23:59:59.999999Z"},
  };
  std::string prev = kAuditGenesis;
  for (size_t i = 0; i < specs.size(); i++) {
    AuditRow r = SomeRow(static_cast<int64_t>(i) + 1, prev);
    r.at = specs[i].at;
    r.facts.actor = specs[i].actor;
    r.facts.action = specs[i].action;
    r.facts.repo = specs[i].repo;
    r.facts.outcome = specs[i].outcome;
    ASSERT_TRUE(audit.Insert(r).ok());
    prev = r.hash;
  }
  auto seqs = [&](const AuditRowFilter& f, int64_t before = INT64_MAX, int64_t limit = 100) {
    Result<std::vector<AuditRow>> rows = audit.Page(f, before, limit);
    EXPECT_TRUE(rows.ok()) << rows.status().message();
    std::vector<int64_t> out;
    if (rows.ok())
      for (const AuditRow& r : *rows) out.push_back(r.seq);
    return out;
  };
  using Seqs = std::vector<int64_t>;
  AuditRowFilter f;
  EXPECT_EQ(seqs(f), (Seqs{6, 5, 4, 3, 2, 1}));
  f.actor = "alice";
  EXPECT_EQ(seqs(f), (Seqs{6, 4, 3, 1}));
  f.action = "object.read";
  EXPECT_EQ(seqs(f), (Seqs{6, 4, 3}));
  f.repo = "web";
  EXPECT_EQ(seqs(f), (Seqs{6, 4}));
  f.refused = true;
  EXPECT_EQ(seqs(f), (Seqs{4}));
  f.refused = false;
  EXPECT_EQ(seqs(f), (Seqs{6}));

  AuditRowFilter when;
  when.since = "2026-11-02T10:00:00.000000Z";  // inclusive
  when.until = "2026-11-05T00:00:00.000000Z";
  EXPECT_EQ(seqs(when), (Seqs{4, 3, 2}));
  when.until = "2026-11-05T23:59:59.999999Z";  // inclusive too
  EXPECT_EQ(seqs(when), (Seqs{6, 5, 4, 3, 2}));
  // The cursor and the limit apply to matching rows only.
  AuditRowFilter refused;
  refused.refused = true;
  EXPECT_EQ(seqs(refused, INT64_MAX, 1), (Seqs{4}));
  EXPECT_EQ(seqs(refused, 4, 1), (Seqs{2}));
  EXPECT_EQ(seqs(refused, 2, 1), (Seqs{}));
  // A value is a value, never SQL.
  AuditRowFilter odd;
  odd.actor = "alice' OR '1'='1";
  EXPECT_EQ(seqs(odd), (Seqs{}));
  odd.actor = "%";
  EXPECT_EQ(seqs(odd), (Seqs{}));
}

int64_t IndexCount(Db& db, const std::string& name) {
  Result<Stmt> q =
      db.Prepare(db.engine() == DbEngine::kSqlite
                     ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?"
                     : "SELECT COUNT(*) FROM pg_indexes WHERE indexname = ? AND schemaname = "
                       "current_schema()");
  if (!q.ok()) return -1;
  q->Bind(1, name);
  Result<bool> row = q->Step();
  return row.ok() && *row ? q->Int(0) : -1;
}

// The actor and action filters have indexes of their own, made at open
// outside the numbered migrations (store/schema.h, QueryIndexes): a database
// a node made before them gets them at the next open, its version unchanged.
TEST_P(AuditRecordsTest, TheActorAndActionFiltersHaveIndexesMadeAtOpen) {
  for (const char* index : {"audit_by_actor", "audit_by_action"}) {
    EXPECT_EQ(IndexCount(*db_, index), 1) << index;
    ASSERT_TRUE(db_->Exec(std::string("DROP INDEX ") + index).ok());
  }
  Result<Db> again = GetParam() == DbEngine::kSqlite
                         ? Db::Open(dir_ / "converge.db", DbRole::kServer)
                         : Db::Connect(schema_->url(), DbRole::kServer);
  ASSERT_TRUE(again.ok()) << again.status().message();
  for (const char* index : {"audit_by_actor", "audit_by_action"})
    EXPECT_EQ(IndexCount(*again, index), 1) << index;
  EXPECT_EQ(*again->StoredSchemaVersion(), SchemaVersion(DbRole::kServer));
  if (GetParam() != DbEngine::kSqlite) return;  // PostgreSQL's plans follow its statistics
  Result<Stmt> plan = again->Prepare(
      "EXPLAIN QUERY PLAN SELECT seq FROM audit WHERE seq < 100 AND actor_handle = 'alice' "
      "ORDER BY seq DESC LIMIT 10");
  ASSERT_TRUE(plan.ok());
  std::string steps;
  while (*plan->Step()) steps += plan->Text(3) + "\n";
  EXPECT_NE(steps.find("audit_by_actor"), std::string::npos) << steps;
}

TEST_P(AuditRecordsTest, HeadMovesOnlyForward) {
  AuditRecords audit(*db_);
  EXPECT_FALSE(audit.Head()->has_value());
  ASSERT_TRUE(audit.SetHead({2, "h2", "pk", "sig2"}).ok());
  ASSERT_TRUE(audit.SetHead({3, "h3", "pk", "sig3"}).ok());
  std::optional<AuditHeadRow> head = *audit.Head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->seq, 3);
  EXPECT_EQ(head->hash, "h3");
  EXPECT_EQ(head->signature, "sig3");
  // The schema's trigger: a head never goes back, nor is it removed.
  EXPECT_EQ(audit.SetHead({3, "other", "pk", "sig"}).code(), Code::kConflict);
  EXPECT_EQ(audit.SetHead({1, "h1", "pk", "sig1"}).code(), Code::kConflict);
  EXPECT_FALSE(db_->Exec("DELETE FROM audit_head").ok());
  EXPECT_EQ((*audit.Head())->hash, "h3");
}

TEST_P(AuditRecordsTest, TriggersStillRefuseUpdateAndDelete) {
  AuditRecords audit(*db_);
  ASSERT_TRUE(audit.Insert(SomeRow(1, kAuditGenesis)).ok());
  EXPECT_FALSE(db_->Exec("UPDATE audit SET detail = 'edited' WHERE seq = 1").ok());
  EXPECT_FALSE(db_->Exec("DELETE FROM audit WHERE seq = 1").ok());
  std::vector<AuditRow> rows = *audit.Page(std::nullopt, INT64_MAX, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].facts.detail, "row 1");
}

// AppendAudit through the records: each row links to the one before, and
// the head it signs covers the newest; the shared checker agrees.
TEST_P(AuditRecordsTest, AppendKeepsTheChainAndTheSignedHead) {
  std::shared_ptr<const AuditKey> shared = RegisterNewAuditSigner();
  ASSERT_TRUE(shared);
  for (int i = 0; i < 3; i++) {
    Result<Db::Tx> tx = db_->BeginWrite();
    ASSERT_TRUE(tx.ok());
    AuditRecord r;
    r.actor = "alice";
    r.action = "test.append";
    r.detail = "append " + std::to_string(i);
    ASSERT_TRUE(AppendAudit(*db_, r).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  UnregisterAuditSigner(db_->source());

  AuditRecords audit(*db_);
  std::vector<AuditRow> rows = *audit.Page(std::nullopt, INT64_MAX, 10);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].prev_hash, kAuditGenesis);
  EXPECT_EQ(rows[1].prev_hash, rows[2].hash);
  EXPECT_EQ(rows[0].prev_hash, rows[1].hash);
  std::optional<AuditHeadRow> head = *audit.Head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->seq, 3);
  EXPECT_EQ(head->hash, rows[0].hash);
  EXPECT_EQ(head->public_key, shared->public_key().hex());
  EXPECT_TRUE(shared->public_key().Verify(AuditHeadMessage(3, head->hash), head->signature));

  Result<AuditVerdict> verdict = VerifyAuditLog(*db_, shared->public_key());
  ASSERT_TRUE(verdict.ok()) << verdict.status().message();
  EXPECT_TRUE(verdict->ok());
  EXPECT_EQ(verdict->rows_checked, 3);
}

// `serve --fsck` checks the audit log with the same checker as
// `--verify-audit`: rows removed from the end (behind the triggers' back)
// leave the chain that remains intact, which the old oldest-first walk in
// server/fsck.cpp passed; the signed head names them.
TEST(DataDirFsck, NamesAuditRowsRemovedFromTheEnd) {
  TempDir dir;
  ServerConfig config;
  config.data_dir = dir / "data";
  {
    Result<std::unique_ptr<Authority>> a = Authority::Open(config);
    ASSERT_TRUE(a.ok()) << a.status().message();  // bootstrap: two audit rows
    (*a)->Close();
  }
  Result<FsckReport> clean = CheckDataDir(config.data_dir);
  ASSERT_TRUE(clean.ok()) << clean.status().message();
  EXPECT_TRUE(clean->ok());
  {
    Result<Db> db = Db::Open(config.data_dir / "converge.db", DbRole::kServer);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("DROP TRIGGER audit_no_delete").ok());
    ASSERT_TRUE(db->Exec("DELETE FROM audit WHERE seq = 2").ok());
  }
  Result<FsckReport> report = CheckDataDir(config.data_dir);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_FALSE(report->ok());
  bool named = false;
  for (const FsckProblem& p : report->problems)
    named = named || (p.subject == "audit log" &&
                      p.problem.find("audit row 2 is missing") != std::string::npos);
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace converge

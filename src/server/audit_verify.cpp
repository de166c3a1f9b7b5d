#include "server/audit_verify.h"

#include <algorithm>

#include "base/text.h"
#include "server/audit.h"
#include "store/db.h"
#include "store/records/audit.h"

namespace converge {

namespace {

std::string Rows(int64_t first, int64_t last) {
  if (first == last) return "audit row " + std::to_string(first) + " is";
  return "audit rows " + std::to_string(first) + " to " + std::to_string(last) + " are";
}

constexpr const char* kAltered = "; the log was altered at or after this row";

}  // namespace

std::string DescribeAuditRow(const wire::AuditEntry& e) {
  std::string who = e.actor.empty() ? "" : " by " + e.actor;
  return "audit row " + std::to_string(e.seq) + " (" + e.action + who + " at " + e.at + ")";
}

AuditChainVerifier::AuditChainVerifier(wire::AuditHead head, const AuditPublicKey& key,
                                       std::optional<AuditCheckpoint> seen)
    : seen_(std::move(seen)), expect_seq_(head.seq), expect_hash_(head.hash) {
  verdict_.head = std::move(head);
  verdict_.fingerprint = key.Fingerprint();
  const wire::AuditHead& h = verdict_.head;
  std::optional<AuditPublicKey> signer = AuditPublicKey::FromHex(h.public_key);
  if (!signer || !(*signer == key))
    Problem(h.seq + 1, "the audit log's head (row " + std::to_string(h.seq) + ") is signed by " +
                           (signer ? signer->Fingerprint() : "an unreadable key") +
                           ", not by the trusted key " + key.Fingerprint());
  else if (!key.Verify(AuditHeadMessage(h.seq, h.hash), h.signature))
    Problem(h.seq + 1, "the signature over the audit log's head (row " + std::to_string(h.seq) +
                           ") does not verify: the head was altered");
  if (seen_ && seen_->seq > h.seq)
    Problem(h.seq + 1, "the audit log is shorter than when you last verified it: you saw row " +
                           std::to_string(seen_->seq) + ", the signed head is row " +
                           std::to_string(h.seq) + "; rows were removed from the end");
}

void AuditChainVerifier::Problem(int64_t seq, std::string message) {
  ++verdict_.problem_count;
  problems_.push_back({seq, std::move(message)});
  // Rows come newest first, so the problems to drop are the newest ones.
  if (problems_.size() > 2 * AuditVerdict::kMaxProblems) {
    std::sort(problems_.begin(), problems_.end(),
              [](const AuditProblem& a, const AuditProblem& b) { return a.seq < b.seq; });
    problems_.resize(AuditVerdict::kMaxProblems);
  }
}

void AuditChainVerifier::Add(const wire::AuditEntry& e) {
  ++verdict_.rows_checked;
  std::string row = DescribeAuditRow(e);
  if (e.seq > expect_seq_) {
    Problem(e.seq, row + ": listed out of order (expected row " + std::to_string(expect_seq_) +
                       " or earlier)");
    return;
  }
  bool gap = e.seq < expect_seq_;
  if (gap && first_)
    Problem(e.seq + 1, Rows(e.seq + 1, expect_seq_) + " missing: the log ends at row " +
                           std::to_string(e.seq) + ", but the signed head is row " +
                           std::to_string(expect_seq_) + "; rows were removed from the end");
  else if (gap)
    Problem(e.seq + 1, Rows(e.seq + 1, expect_seq_) + " missing: row " +
                           std::to_string(expect_seq_ + 1) +
                           " links to a row that is not there; rows were removed");
  if (AuditRowHash(e) != e.hash)
    Problem(e.seq, row + ": its hash does not match its content" + kAltered);
  else if (!gap && e.hash != expect_hash_)
    Problem(e.seq, row + ": its hash is not the one " +
                       (first_ ? std::string("the signed head covers")
                               : "row " + std::to_string(e.seq + 1) + " links to") +
                       kAltered);
  if (seen_ && e.seq == seen_->seq && e.hash != seen_->hash)
    Problem(e.seq, row + ": it is not the row you verified earlier" + kAltered);
  first_ = false;
  expect_seq_ = e.seq - 1;
  expect_hash_ = e.prev_hash;
}

AuditVerdict AuditChainVerifier::Finish() {
  if (expect_seq_ > 0)
    Problem(1, Rows(1, expect_seq_) + " missing: the log starts at row " +
                   std::to_string(expect_seq_ + 1) + "; rows were removed");
  else if (expect_hash_ != kAuditGenesis)
    Problem(1, "audit row 1: its prev_hash is not the start of the chain (64 zeros)" +
                   std::string(kAltered));
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const AuditProblem& a, const AuditProblem& b) { return a.seq < b.seq; });
  if (problems_.size() > AuditVerdict::kMaxProblems) problems_.resize(AuditVerdict::kMaxProblems);
  verdict_.problems.assign(problems_.begin(), problems_.end());
  return std::move(verdict_);
}

nlohmann::json ToJson(const AuditVerdict& v) {
  nlohmann::json problems = nlohmann::json::array();
  for (const AuditProblem& p : v.problems)
    problems.push_back({{"seq", p.seq}, {"message", p.message}});
  return {{"ok", v.ok()},
          {"rows_checked", v.rows_checked},
          {"head", {{"seq", v.head.seq}, {"hash", v.head.hash}}},
          {"key", v.fingerprint},
          {"problems", problems},
          {"problem_count", v.problem_count}};
}

Result<AuditPublicKey> DataDirAuditKey(const fs::path& dir) {
  Result<std::string> pub = ReadFile(AuditKey::PublicPath(dir));
  if (pub.ok()) {
    if (std::optional<AuditPublicKey> key = AuditPublicKey::FromHex(*pub)) return *key;
  }
  Result<AuditKey> pair = AuditKey::Load(dir);
  if (!pair.ok())
    return pair.status().With("no audit key in data dir " + Quote(dir.string()) +
                              " (has converge serve run on it?)");
  return pair->public_key();
}

Result<AuditVerdict> VerifyAuditLog(Db& db, const AuditPublicKey& key) {
  Result<std::optional<wire::AuditHead>> head = ReadHead(db);
  if (!head.ok())
    return head.status().With("data dir " + Quote(db.path().parent_path().string()) +
                              " has no signed audit head: start this converge serve on it once "
                              "to upgrade it");
  if (!*head) {
    // No head: fine for an empty log, a problem for any other.
    ASSIGN_OR_RETURN(int64_t rows, AuditRecords(db).Count());
    AuditVerdict v;
    v.fingerprint = key.Fingerprint();
    if (rows > 0) {
      v.problem_count = 1;
      v.problems.push_back({1, "the audit log has " + std::to_string(rows) +
                                   " rows but no signed head: it was removed, or no converge "
                                   "serve with signed heads has run on this data dir yet"});
    }
    return v;
  }
  AuditChainVerifier check(**head, key, std::nullopt);
  RETURN_IF_ERROR(ForEachAuditRow(db, (*head)->seq, [&](const wire::AuditEntry& e) {
    check.Add(e);
    return Status::Ok();
  }));
  return check.Finish();
}

Result<AuditVerdict> VerifyAuditDataDir(const fs::path& dir,
                                        const std::optional<AuditPublicKey>& given) {
  std::optional<AuditPublicKey> key = given;
  if (!key) {
    ASSIGN_OR_RETURN(key, DataDirAuditKey(dir));
  }
  ASSIGN_OR_RETURN(Db db, Db::OpenReadOnly(dir / "converge.db"));
  // One read transaction: the head and the rows it covers from one snapshot,
  // even while a server appends.
  RETURN_IF_ERROR(db.Exec("BEGIN"));
  Result<AuditVerdict> v = VerifyAuditLog(db, *key);
  (void)db.Exec("COMMIT");
  return v;
}

}  // namespace converge

#include "api/audit_chain.h"

#include <algorithm>

#include "base/hex.h"
#include "base/random.h"
#include "base/text.h"
#include "store/hash.h"

namespace converge {

namespace {

std::string Rows(int64_t first, int64_t last) {
  if (first == last) return "audit row " + std::to_string(first) + " is";
  return "audit rows " + std::to_string(first) + " to " + std::to_string(last) + " are";
}

constexpr const char* kAltered = "; the log was altered at or after this row";

}  // namespace

std::optional<AuditPublicKey> AuditPublicKey::FromHex(std::string_view hex) {
  hex = TrimSpace(hex);
  AuditPublicKey k;
  if (hex.size() != 2 * kBytes || !IsLowerHex(hex) ||
      !converge::FromHex(hex, k.bytes_.data(), kBytes))
    return std::nullopt;
  return k;
}

std::string AuditPublicKey::hex() const {
  return ToHex(bytes_.data(), bytes_.size());
}

std::string AuditPublicKey::Fingerprint() const {
  InitCrypto();
  unsigned char h[16];
  crypto_generichash(h, sizeof h, bytes_.data(), bytes_.size(), nullptr, 0);
  return "ed25519:" + ToHex(h, sizeof h);
}

bool AuditPublicKey::Verify(std::string_view message, std::string_view signature_hex) const {
  InitCrypto();
  unsigned char sig[crypto_sign_BYTES];
  if (signature_hex.size() != 2 * sizeof sig || !IsLowerHex(signature_hex) ||
      !converge::FromHex(signature_hex, sig, sizeof sig))
    return false;
  return crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), bytes_.data()) == 0;
}

std::string AuditHeadMessage(int64_t seq, std::string_view hash) {
  return "converge audit head v1\nseq " + std::to_string(seq) + "\nhash " + std::string(hash) +
         "\n";
}

std::string AuditRowHash(const wire::AuditEntry& e) {
  Hasher h;
  h.Update(e.prev_hash);
  h.Update(wire::AuditHashInput(e));
  return h.Finish().hex();
}

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

}  // namespace converge

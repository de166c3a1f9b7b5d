// The audit chain as client and server both see it: the public key that
// signs its head, what a row's hash and the head's signature cover, and the
// one checker of the chain, fed rows newest first. `converge audit --verify`
// (rows from the API, client/audit_trust.h) and `converge serve
// --verify-audit` / `--fsck` (rows from the database, server/audit_verify.h)
// run the same code. Signing is the server's (server/audit_key.h).
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire.h"

namespace converge {

class AuditKey;

// A public key: what clients hold, and all that verification needs.
class AuditPublicKey {
 public:
  static constexpr size_t kBytes = crypto_sign_PUBLICKEYBYTES;

  // 64 hex characters (surrounding whitespace allowed); nullopt otherwise.
  static std::optional<AuditPublicKey> FromHex(std::string_view hex);

  std::string hex() const;
  // "ed25519:" and 32 hex characters of the key's BLAKE2b hash: short enough
  // to read out, long enough that no one can make a key that matches it.
  std::string Fingerprint() const;
  // Whether `signature_hex` is this key's signature of `message`.
  bool Verify(std::string_view message, std::string_view signature_hex) const;

  bool operator==(const AuditPublicKey&) const = default;

 private:
  std::array<unsigned char, kBytes> bytes_{};
  friend class AuditKey;
};

// What the signature over a head covers: the row's sequence number and hash,
// under a label no other converge signature will ever use.
std::string AuditHeadMessage(int64_t seq, std::string_view hash);

// The first row's prev_hash: 64 zeros, where every chain starts.
inline const std::string kAuditGenesis(64, '0');
// BLAKE2b-256(prev_hash || AuditHashInput(e)), hex: what `e.hash` must be.
std::string AuditRowHash(const wire::AuditEntry& e);

// A row this reader verified before: the log must still hold it unchanged.
struct AuditCheckpoint {
  int64_t seq = 0;
  std::string hash;
};

struct AuditProblem {
  int64_t seq = 0;      // the first row it concerns (head.seq + 1: past the end)
  std::string message;  // one line, naming the row
};

struct AuditVerdict {
  int64_t rows_checked = 0;
  wire::AuditHead head;
  std::string fingerprint;             // of the key the head was checked against
  std::vector<AuditProblem> problems;  // earliest first; at most kMaxProblems
  int64_t problem_count = 0;           // all of them
  bool ok() const { return problem_count == 0; }

  static constexpr size_t kMaxProblems = 20;
};

// The one audit-chain checker: fed rows, it never fails; what it finds is
// in the verdict. Needs no database, so the client (rows from the API) and
// the server (rows from SQLite) run the same checks.
class AuditChainVerifier {
 public:
  // `head` as the server signed it; `key` the one the reader trusts;
  // `seen` a row from an earlier successful verification, if any. Checks the
  // head's signature (and that it is not behind `seen`) at once.
  AuditChainVerifier(wire::AuditHead head, const AuditPublicKey& key,
                     std::optional<AuditCheckpoint> seen);

  const wire::AuditHead& head() const { return verdict_.head; }
  // Feed rows with seq <= head().seq, newest first: each row's hash against
  // its content and against the link from the row after it, gaps, rows out
  // of order, and `seen` still there unchanged.
  void Add(const wire::AuditEntry& e);
  // Once, after the last row (seq 1, or wherever the log ends): rows missing
  // below it, and row 1 starting from kAuditGenesis. Problems earliest first.
  AuditVerdict Finish();

 private:
  void Problem(int64_t seq, std::string message);

  AuditVerdict verdict_;
  std::optional<AuditCheckpoint> seen_;
  std::deque<AuditProblem> problems_;  // newest first while feeding
  int64_t expect_seq_;                 // the next row that should come
  std::string expect_hash_;            // and the hash it should have
  bool first_ = true;
};

// "audit row 17 (token.create by alice at 2026-...)".
std::string DescribeAuditRow(const wire::AuditEntry& e);

nlohmann::json ToJson(const AuditVerdict& v);

}  // namespace converge

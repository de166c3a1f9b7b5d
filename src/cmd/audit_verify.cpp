#include "cmd/audit_verify.h"

#include <algorithm>
#include <cstdint>
#include <iostream>

#include "base/text.h"
#include "client/audit_trust.h"
#include "cmd/command.h"
#include "net/pager.h"
#include "server/audit_verify.h"

namespace converge {

namespace {

constexpr int kPage = 1000;  // the API's largest ?limit=

Result<AuditPublicKey> ParseKeyFlag(const std::string& arg) {
  if (std::optional<AuditPublicKey> k = AuditPublicKey::FromHex(arg)) return *k;
  Result<std::string> text = ReadFile(arg);
  if (!text.ok())
    return Invalid("--key " + Quote(arg) +
                   " is neither 64 hex characters nor a readable file: " + text.status().message());
  std::optional<AuditPublicKey> k = AuditPublicKey::FromHex(*text);
  if (!k)
    return Invalid("--key file " + Quote(arg) +
                   " does not hold an Ed25519 public key (64 hex characters, like the "
                   "server's DATA/audit-key.pub)");
  return *k;
}

// The key to check against: --key, else the pin, else the server's own
// (trusted on first use). Refuses a server whose key is not that one.
Result<AuditPublicKey> TrustedKey(const AuditPublicKey& served, const std::string& flag,
                                  const AuditPin* pin) {
  if (!flag.empty()) {
    ASSIGN_OR_RETURN(AuditPublicKey given, ParseKeyFlag(flag));
    if (!(given == served))
      return Permission("the server's audit key is " + served.Fingerprint() +
                        ", not the key you gave (" + given.Fingerprint() +
                        "): this is not the server you meant, or its key was replaced");
    return given;
  }
  if (!pin) {
    Note("trusting this server's audit key " + served.Fingerprint() + " from now on (saved in " +
         AuditPins::Path().string() + ")");
    return served;
  }
  std::optional<AuditPublicKey> pinned = AuditPublicKey::FromHex(pin->public_key);
  if (!pinned)
    return Corrupt("the pinned audit key in " + Quote(AuditPins::Path().string()) +
                   " is damaged: fix it, or pass the server's key with --key");
  if (!(*pinned == served))
    return Permission("the server's audit key changed: " + pinned->Fingerprint() +
                      " was pinned on " + pin->pinned_at + ", the server now has " +
                      served.Fingerprint() +
                      "; if its operator replaced the key on purpose, get the new one from "
                      "them (DATA/audit-key.pub) and run 'converge audit --verify --key KEY', "
                      "otherwise treat the server and its log as tampered with");
  return *pinned;
}

void PrintVerdict(const AuditVerdict& v, bool json) {
  if (json) return PrintJson(ToJson(v));
  // One problem is the error line itself; more are listed first.
  if (v.problem_count > 1)
    for (const AuditProblem& p : v.problems)
      std::cout << "broken: " << ForTerminal(p.message) << "\n";
  if (!v.ok()) return;
  std::cout << "audit log OK: " << v.rows_checked << " rows checked; head row " << v.head.seq
            << " (" << ForTerminal(v.head.hash.substr(0, 16)) << "...) signed by " << v.fingerprint
            << "\n";
}

// Prints the verdict; a broken log fails (exit 1) naming its first break.
Status Report(const AuditVerdict& v, bool json) {
  PrintVerdict(v, json);
  if (v.ok()) return Status::Ok();
  std::string first = v.problems.empty() ? "the audit log is broken" : v.problems[0].message;
  if (v.problem_count > 1)
    first += " (" + std::to_string(v.problem_count - 1) + " more problem" +
             (v.problem_count > 2 ? "s" : "") + (json ? " in the report)" : " listed above)");
  return Corrupt(first);
}

}  // namespace

Status VerifyAuditLog(ApiClient& api, const std::string& key_flag, bool json) {
  const std::string what = "verify the whole audit log";
  Result<wire::AuditKeyInfo> served_info = api.AuditKey();
  if (!served_info.ok()) return ExplainFailure(served_info.status(), what, "");
  const wire::AuditKeyInfo& info = *served_info;
  std::optional<AuditPublicKey> served = AuditPublicKey::FromHex(info.public_key);
  if (!served) return Corrupt("the server sent a malformed audit key: " + Quote(info.public_key));
  ASSIGN_OR_RETURN(AuditPins pins, AuditPins::Load());
  const AuditPin* pin = pins.Find(api.url());
  ASSIGN_OR_RETURN(AuditPublicKey trusted, TrustedKey(*served, key_flag, pin));

  Result<wire::AuditHead> served_head = api.AuditHead();
  if (!served_head.ok()) return ExplainFailure(served_head.status(), what, "");
  const wire::AuditHead& head = *served_head;
  bool same_key = pin && pin->public_key == trusted.hex();
  std::optional<AuditCheckpoint> seen;
  if (same_key && pin->verified_seq > 0)
    seen = AuditCheckpoint{pin->verified_seq, pin->verified_hash};
  AuditChainVerifier check(head, trusted, seen);
  // Newest first from the head down: rows appended meanwhile are not ours.
  // The log holds head.seq rows, no more, in full pages of kPage; the rows
  // are checked and dropped, so the bytes need no cap.
  Pager::Limits limits;
  limits.items = static_cast<uint64_t>(std::max<int64_t>(head.seq, 0));
  limits.pages += limits.items / kPage;
  limits.bytes = UINT64_MAX;
  Pager pager(api.http(), "the audit log", limits);
  RETURN_IF_ERROR(pager.Restart(std::to_string(head.seq + 1)));
  for (;;) {
    Result<wire::AuditPage> page_or = api.Audit("", kPage, pager.cursor());
    if (!page_or.ok()) return ExplainFailure(page_or.status(), what, "");
    wire::AuditPage& page = *page_or;
    for (const wire::AuditEntry& e : page.entries) check.Add(e);
    ASSIGN_OR_RETURN(bool more, pager.Advance(page.entries.size(), page.next));
    if (!more) break;
  }
  AuditVerdict v = check.Finish();

  AuditPin updated = same_key ? *pin : AuditPin{trusted.hex(), NowRfc3339(), 0, "", ""};
  if (v.ok()) {
    updated.verified_seq = head.seq;
    updated.verified_hash = head.hash;
    updated.verified_at = NowRfc3339();
  }
  pins.Set(api.url(), updated);
  RETURN_IF_ERROR(pins.Save());

  return Report(v, json);
}

Status VerifyAuditDataDirCommand(const std::string& data_dir, const std::string& key_flag,
                                 bool json) {
  std::optional<AuditPublicKey> key;
  if (!key_flag.empty()) {
    ASSIGN_OR_RETURN(key, ParseKeyFlag(key_flag));
  }
  ASSIGN_OR_RETURN(AuditVerdict v, VerifyAuditDataDir(data_dir, key));
  return Report(v, json);
}

}  // namespace converge

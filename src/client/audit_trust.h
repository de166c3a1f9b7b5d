// The audit keys a client trusts: $XDG_CONFIG_HOME/converge/audit-keys.json,
// beside credentials.json, mode 0600. `converge audit --verify` pins a
// server's key the first time it sees it and refuses a different one after;
// it also remembers the newest row it verified, so a log cut back to before
// that row is caught even when the server signed the shorter head.
//
// The key and the checks of the chain are the server's code
// (server/audit_key.h's AuditPublicKey, server/audit_verify.h's
// AuditChainVerifier), one piece of code for `audit --verify` and `serve
// --verify-audit`; client/ may not include server/, so the functions below
// take them as template parameters, which cmd/ (and the tests) fill in.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "base/fs.h"
#include "base/text.h"
#include "client/audit_log.h"
#include "client/session.h"

namespace converge {

struct AuditPin {
  std::string public_key;  // hex
  std::string pinned_at;
  int64_t verified_seq = 0;  // 0: never verified
  std::string verified_hash;
  std::string verified_at;
};

class AuditPins {
 public:
  // $XDG_CONFIG_HOME/converge/audit-keys.json.
  static fs::path Path();
  // The pins in `path` (default Path()); empty when there is no file yet.
  // Tightens a widened mode to 0600. kCorrupt when the file is damaged.
  static Result<AuditPins> Load();
  static Result<AuditPins> Load(const fs::path& path);
  // Writes them back (atomically, 0600) to the file they were loaded from.
  Status Save() const;
  const fs::path& path() const { return path_; }

  const AuditPin* Find(const std::string& url) const;
  void Set(const std::string& url, const AuditPin& pin);

 private:
  fs::path path_;
  std::map<std::string, AuditPin> servers_;
};

// A key given on the command line (--key, --audit-key): 64 hex characters,
// or a file holding them. kInvalid when it is neither.
template <class Key>
Result<Key> ParseAuditKeyArg(const std::string& arg);

// The key to check `served` against: `flag` (ParseAuditKeyArg) when given,
// else the pinned one, else `served` itself (trust on first use, said
// through `note`). kPermission when the server's key is not the one given
// or pinned; kCorrupt when the pin is damaged.
template <class Key>
Result<Key> TrustAuditKey(const Key& served, const std::string& flag, const AuditPin* pin,
                          const fs::path& pins_file,
                          const std::function<void(const std::string&)>& note);

// After a verification against `trusted_hex` up to `head`: pins the key (a
// new pin when it was not pinned), and when `ok` remembers the head as the
// newest verified row; saves the file. Errors: writing the file.
Status RecordAuditVerification(AuditPins& pins, const std::string& url,
                               const std::string& trusted_hex, const wire::AuditHead& head,
                               bool ok);

struct AuditVerifyOptions {
  std::string key;                // --key: empty, 64 hex characters, or a file
  int page_size = kMaxAuditPage;  // rows per request
  fs::path pins_file = AuditPins::Path();
  std::function<void(const std::string&)> note = [](const std::string&) {};
};

// `converge audit --verify` (server admins): fetches the server's key and
// decides whether to trust it (TrustAuditKey), then its signed head, feeds
// every row from the head down to a Checker(head, key, optional<Checkpoint>
// of the newest row verified before under the same key), and records the
// outcome in the pins file (RecordAuditVerification). Returns the
// Checker's Finish() (a broken chain is a verdict, not an error). Errors:
// the API's (explained), kCorrupt for a malformed served key or a damaged
// pins file, kPermission for a key that is not the trusted one.
template <class Key, class Checker, class Checkpoint>
auto VerifyServerAuditLog(ApiClient& api, const AuditVerifyOptions& o)
    -> Result<decltype(std::declval<Checker&>().Finish())>;

// ---- implementation of the templates ----

template <class Key>
Result<Key> ParseAuditKeyArg(const std::string& arg) {
  if (std::optional<Key> k = Key::FromHex(arg)) return *k;
  Result<std::string> text = ReadFile(arg);
  if (!text.ok())
    return Invalid("--key " + Quote(arg) +
                   " is neither 64 hex characters nor a readable file: " + text.status().message());
  std::optional<Key> k = Key::FromHex(*text);
  if (!k)
    return Invalid("--key file " + Quote(arg) +
                   " does not hold an Ed25519 public key (64 hex characters, like the "
                   "server's DATA/audit-key.pub)");
  return *k;
}

template <class Key>
Result<Key> TrustAuditKey(const Key& served, const std::string& flag, const AuditPin* pin,
                          const fs::path& pins_file,
                          const std::function<void(const std::string&)>& note) {
  if (!flag.empty()) {
    ASSIGN_OR_RETURN(Key given, ParseAuditKeyArg<Key>(flag));
    if (!(given == served))
      return Permission("the server's audit key is " + served.Fingerprint() +
                        ", not the key you gave (" + given.Fingerprint() +
                        "): this is not the server you meant, or its key was replaced");
    return given;
  }
  if (!pin) {
    note("trusting this server's audit key " + served.Fingerprint() + " from now on (saved in " +
         pins_file.string() + ")");
    return served;
  }
  std::optional<Key> pinned = Key::FromHex(pin->public_key);
  if (!pinned)
    return Corrupt("the pinned audit key in " + Quote(pins_file.string()) +
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

template <class Key, class Checker, class Checkpoint>
auto VerifyServerAuditLog(ApiClient& api, const AuditVerifyOptions& o)
    -> Result<decltype(std::declval<Checker&>().Finish())> {
  const std::string what = "verify the whole audit log";
  Result<wire::AuditKeyInfo> info = api.AuditKey();
  if (!info.ok()) return ExplainFailure(info.status(), what, "");
  std::optional<Key> served = Key::FromHex(info->public_key);
  if (!served) return Corrupt("the server sent a malformed audit key: " + Quote(info->public_key));
  ASSIGN_OR_RETURN(AuditPins pins, AuditPins::Load(o.pins_file));
  const AuditPin* pin = pins.Find(api.url());
  ASSIGN_OR_RETURN(Key trusted, TrustAuditKey(*served, o.key, pin, o.pins_file, o.note));
  Result<wire::AuditHead> head = api.AuditHead();
  if (!head.ok()) return ExplainFailure(head.status(), what, "");
  // The newest row verified before counts only under the same key.
  std::optional<Checkpoint> seen;
  if (pin && pin->public_key == trusted.hex() && pin->verified_seq > 0)
    seen = Checkpoint{pin->verified_seq, pin->verified_hash};
  Checker check(*head, trusted, seen);
  RETURN_IF_ERROR(ReadAuditLogDown(api, head->seq, o.page_size,
                                   [&](const wire::AuditEntry& e) { check.Add(e); }));
  auto verdict = check.Finish();
  RETURN_IF_ERROR(RecordAuditVerification(pins, api.url(), trusted.hex(), *head, verdict.ok()));
  return verdict;
}

}  // namespace converge

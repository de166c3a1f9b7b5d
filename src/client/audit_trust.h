// The audit keys a client trusts: $XDG_CONFIG_HOME/converge/audit-keys.json,
// beside credentials.json, mode 0600. `converge audit --verify` pins a
// server's key the first time it sees it and refuses a different one after;
// it also remembers the newest row it verified, so a log cut back to before
// that row is caught even when the server signed the shorter head.
//
// The key and the checks of the chain are api/audit_chain.h's (the same
// code `serve --verify-audit` runs).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "api/audit_chain.h"
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
Result<AuditPublicKey> ParseAuditKeyArg(const std::string& arg);

// The key to check `served` against: `flag` (ParseAuditKeyArg) when given,
// else the pinned one, else `served` itself (trust on first use, said
// through `note`). kPermission when the server's key is not the one given
// or pinned; kCorrupt when the pin is damaged.
Result<AuditPublicKey> TrustAuditKey(const AuditPublicKey& served, const std::string& flag,
                                     const AuditPin* pin, const fs::path& pins_file,
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
// every row from the head down to an AuditChainVerifier (with the newest row
// verified before under the same key as its checkpoint), and records the
// outcome in the pins file (RecordAuditVerification). Returns the
// verdict (a broken chain is a verdict, not an error). Errors:
// the API's (explained), kCorrupt for a malformed served key or a damaged
// pins file, kPermission for a key that is not the trusted one.
Result<AuditVerdict> VerifyServerAuditLog(ApiClient& api, const AuditVerifyOptions& o);

}  // namespace converge

// The audit keys a client trusts: $XDG_CONFIG_HOME/converge/audit-keys.json,
// beside credentials.json, mode 0600. `converge audit --verify` pins a
// server's key the first time it sees it and refuses a different one after;
// it also remembers the newest row it verified, so a log cut back to before
// that row is caught even when the server signed the shorter head.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/fs.h"

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
  static fs::path Path();
  // Empty when there is no file yet; tightens a widened mode to 0600.
  static Result<AuditPins> Load();
  Status Save() const;

  const AuditPin* Find(const std::string& url) const;
  void Set(const std::string& url, const AuditPin& pin);

 private:
  std::map<std::string, AuditPin> servers_;
};

}  // namespace converge

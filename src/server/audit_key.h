// The Ed25519 key that signs the head of the audit chain (server/audit.h).
//
// The server makes the key pair at first start and keeps it in the data dir:
//   DATA/audit-key       the 32-byte seed, hex, mode 0600 (never logged)
//   DATA/audit-key.pub   the public key, hex, for operators to hand out
// A client pins the public key the first time it verifies a server's log and
// refuses a different one later (client/audit_trust.h).
#pragma once

#include <sodium.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "api/audit_chain.h"
#include "base/fs.h"

namespace converge {

// The key pair. Movable, not copyable; the secret is wiped on destruction.
class AuditKey {
 public:
  // Loads DATA/audit-key, or makes a new pair (written atomically, 0600)
  // when there is none; `created` says which.
  static Result<AuditKey> LoadOrCreate(const fs::path& data_dir, bool* created);
  // Loads an existing key only (kNotFound when there is none).
  static Result<AuditKey> Load(const fs::path& data_dir);

  static fs::path SecretPath(const fs::path& data_dir) { return data_dir / "audit-key"; }
  static fs::path PublicPath(const fs::path& data_dir) { return data_dir / "audit-key.pub"; }

  AuditKey(AuditKey&& o) noexcept;
  AuditKey& operator=(AuditKey&&) = delete;
  AuditKey(const AuditKey&) = delete;
  ~AuditKey();

  const AuditPublicKey& public_key() const { return public_; }
  // The detached signature of `message`, hex.
  std::string Sign(std::string_view message) const;

 private:
  AuditKey() = default;
  static Result<AuditKey> FromSeed(std::string_view seed_hex, const fs::path& path);

  AuditPublicKey public_;
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_{};
};

// AppendAudit runs inside transactions opened all over the server with only
// a Db in hand, so the key that signs each new head is found by the
// database's Db::source() (its SQLite path, or its redacted PostgreSQL URL).
// Authority::Open registers it; nothing else appends.
void RegisterAuditSigner(const std::string& db_source, std::shared_ptr<const AuditKey> key);
void UnregisterAuditSigner(const std::string& db_source);
std::shared_ptr<const AuditKey> AuditSignerFor(const std::string& db_source);

}  // namespace converge

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
#include <optional>
#include <string>
#include <string_view>

#include "base/fs.h"

namespace converge {

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

// What the signature over a head covers: the row's sequence number and hash,
// under a label no other converge signature will ever use.
std::string AuditHeadMessage(int64_t seq, std::string_view hash);

// AppendAudit runs inside transactions opened all over the server with only
// a Db in hand, so the key that signs each new head is found by the
// database's path. Authority::Open registers it; nothing else appends.
void RegisterAuditSigner(const fs::path& db_path, std::shared_ptr<const AuditKey> key);
void UnregisterAuditSigner(const fs::path& db_path);
std::shared_ptr<const AuditKey> AuditSignerFor(const fs::path& db_path);

}  // namespace converge

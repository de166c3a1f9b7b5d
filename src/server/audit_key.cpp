#include "server/audit_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <map>
#include <mutex>

#include "base/hex.h"
#include "base/random.h"
#include "base/text.h"

namespace converge {

namespace {

constexpr std::string_view kSecretHeader = "converge audit key v1 ed25519\n";

struct SignerRegistry {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const AuditKey>> by_db;
};

SignerRegistry& Signers() {
  static SignerRegistry* r = new SignerRegistry;  // never destroyed: used until exit
  return *r;
}

}  // namespace

AuditKey::AuditKey(AuditKey&& o) noexcept : public_(o.public_), secret_(o.secret_) {
  sodium_memzero(o.secret_.data(), o.secret_.size());
}

AuditKey::~AuditKey() {
  sodium_memzero(secret_.data(), secret_.size());
}

Result<AuditKey> AuditKey::FromSeed(std::string_view text, const fs::path& path) {
  std::string_view seed_hex = TrimSpace(text.substr(std::min(text.size(), kSecretHeader.size())));
  unsigned char seed[crypto_sign_SEEDBYTES];
  if (text.substr(0, kSecretHeader.size()) != kSecretHeader || seed_hex.size() != 2 * sizeof seed ||
      !IsLowerHex(seed_hex) || !converge::FromHex(seed_hex, seed, sizeof seed))
    return Corrupt("audit key file " + Quote(path.string()) +
                   " is damaged: restore it from a backup of the data dir");
  AuditKey k;
  crypto_sign_seed_keypair(k.public_.bytes_.data(), k.secret_.data(), seed);
  sodium_memzero(seed, sizeof seed);
  return k;
}

Result<AuditKey> AuditKey::Load(const fs::path& data_dir) {
  InitCrypto();
  fs::path path = SecretPath(data_dir);
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  // Someone widened the mode: the key is the server's alone.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077)) ::chmod(path.c_str(), 0600);
  Result<AuditKey> k = FromSeed(text, path);
  sodium_memzero(text.data(), text.size());
  return k;
}

Result<AuditKey> AuditKey::LoadOrCreate(const fs::path& data_dir, bool* created) {
  *created = false;
  Result<AuditKey> existing = Load(data_dir);
  if (existing.ok() || existing.status().code() != Code::kNotFound) return existing;
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  std::string text = std::string(kSecretHeader) + ToHex(seed, sizeof seed) + "\n";
  sodium_memzero(seed, sizeof seed);
  // Written under a name of its own, then linked into place: link() fails
  // when another node sharing the data dir made its key first, and then
  // both use that one (a rename would let the second replace the first).
  fs::path mine = SecretPath(data_dir);
  mine += ".new-" + RandomHex(8);
  Status st = WriteFileAtomic(mine, text, 0600);
  if (st.ok() && ::link(mine.c_str(), SecretPath(data_dir).c_str()) != 0) {
    int err = errno;
    st = err == EEXIST ? Status::Ok() : ErrnoStatus("link " + Quote(mine.string()), err);
    if (err == EEXIST) {
      ::unlink(mine.c_str());
      sodium_memzero(text.data(), text.size());
      return Load(data_dir);
    }
  }
  ::unlink(mine.c_str());
  if (st.ok()) st = FsyncDir(data_dir);
  Result<AuditKey> k = st.ok() ? FromSeed(text, SecretPath(data_dir)) : Result<AuditKey>(st);
  sodium_memzero(text.data(), text.size());
  if (!k.ok()) return k.status();
  RETURN_IF_ERROR(WriteFileAtomic(PublicPath(data_dir), k->public_key().hex() + "\n", 0644));
  *created = true;
  return k;
}

std::string AuditKey::Sign(std::string_view message) const {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_.data());
  return ToHex(sig, sizeof sig);
}

void RegisterAuditSigner(const std::string& db_path, std::shared_ptr<const AuditKey> key) {
  SignerRegistry& r = Signers();
  std::lock_guard<std::mutex> lock(r.mu);
  r.by_db[db_path] = std::move(key);
}

void UnregisterAuditSigner(const std::string& db_path) {
  SignerRegistry& r = Signers();
  std::lock_guard<std::mutex> lock(r.mu);
  r.by_db.erase(db_path);
}

std::shared_ptr<const AuditKey> AuditSignerFor(const std::string& db_path) {
  SignerRegistry& r = Signers();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.by_db.find(db_path);
  return it == r.by_db.end() ? nullptr : it->second;
}

}  // namespace converge

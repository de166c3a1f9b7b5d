#include "store/hash.h"

#include "base/hex.h"
#include "base/random.h"

namespace converge {

std::optional<ObjectId> ObjectId::FromHex(std::string_view hex) {
  std::array<unsigned char, kBytes> b;
  if (!converge::FromHex(hex, b.data(), b.size())) return std::nullopt;
  return ObjectId(b);
}

ObjectId ObjectId::Of(std::string_view bytes) {
  Hasher h;
  h.Update(bytes);
  return h.Finish();
}

std::string ObjectId::hex() const { return ToHex(bytes_.data(), bytes_.size()); }

bool ObjectId::is_zero() const {
  for (unsigned char c : bytes_)
    if (c) return false;
  return true;
}

Hasher::Hasher() {
  InitCrypto();
  crypto_generichash_init(&state_, nullptr, 0, ObjectId::kBytes);
}

void Hasher::Update(std::string_view data) { Update(data.data(), data.size()); }

void Hasher::Update(const void* data, size_t len) {
  crypto_generichash_update(&state_, static_cast<const unsigned char*>(data), len);
}

ObjectId Hasher::Finish() {
  std::array<unsigned char, ObjectId::kBytes> out;
  crypto_generichash_final(&state_, out.data(), out.size());
  return ObjectId(out);
}

}  // namespace converge

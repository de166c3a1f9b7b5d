// Object IDs: BLAKE2b-256 (libsodium crypto_generichash, 32 bytes, no key) of
// an object's canonical bytes, written as 64 lowercase hex characters.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace converge {

class ObjectId {
 public:
  static constexpr size_t kBytes = 32;
  static constexpr size_t kHexLen = 64;

  ObjectId() { bytes_.fill(0); }
  explicit ObjectId(const std::array<unsigned char, kBytes>& b) : bytes_(b) {}

  // Parses 64 lowercase hex characters; nullopt for anything else.
  static std::optional<ObjectId> FromHex(std::string_view hex);
  // The ID of `bytes`.
  static ObjectId Of(std::string_view bytes);

  std::string hex() const;
  const unsigned char* data() const { return bytes_.data(); }
  bool is_zero() const;

  auto operator<=>(const ObjectId&) const = default;
  bool operator==(const ObjectId&) const = default;

 private:
  std::array<unsigned char, kBytes> bytes_;
};

// Streaming BLAKE2b-256, for content too large to hold in memory.
class Hasher {
 public:
  Hasher();
  void Update(std::string_view data);
  void Update(const void* data, size_t len);
  ObjectId Finish();

 private:
  crypto_generichash_state state_;
};

}  // namespace converge

template <>
struct std::hash<converge::ObjectId> {
  size_t operator()(const converge::ObjectId& id) const noexcept {
    size_t h;  // the bytes are already uniformly distributed
    std::memcpy(&h, id.data(), sizeof h);
    return h;
  }
};

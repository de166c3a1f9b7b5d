// Randomness and secret comparison from libsodium (call sodium_init() once at
// start-up: InitCrypto).
#pragma once

#include <string>
#include <string_view>

namespace converge {

// Initializes libsodium; safe to call more than once. Aborts if it cannot.
void InitCrypto();

// `nbytes` random bytes, as 2*nbytes lowercase hex characters.
std::string RandomHex(size_t nbytes);

// Whether two secrets (token hashes, CSRF values) are the same: non-empty,
// of one length, and equal, compared in constant time.
bool SameSecret(std::string_view a, std::string_view b);

}  // namespace converge

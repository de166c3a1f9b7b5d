// Randomness from libsodium (call sodium_init() once at start-up: InitCrypto).
#pragma once

#include <string>

namespace converge {

// Initializes libsodium; safe to call more than once. Aborts if it cannot.
void InitCrypto();

// `nbytes` random bytes, as 2*nbytes lowercase hex characters.
std::string RandomHex(size_t nbytes);

}  // namespace converge

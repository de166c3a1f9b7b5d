#include "base/random.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "base/hex.h"

namespace converge {

void InitCrypto() {
  if (sodium_init() < 0) {
    std::fputs("error: libsodium failed to initialize\n", stderr);
    std::abort();
  }
}

std::string RandomHex(size_t nbytes) {
  InitCrypto();
  std::vector<unsigned char> buf(nbytes);
  randombytes_buf(buf.data(), buf.size());
  return ToHex(buf.data(), buf.size());
}

bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace converge

// Lowercase hexadecimal encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace converge {

std::string ToHex(const unsigned char* data, size_t len);
// Decodes exactly out_len bytes from 2*out_len lowercase hex characters.
bool FromHex(std::string_view hex, unsigned char* out, size_t out_len);
bool IsLowerHex(std::string_view s);

}  // namespace converge

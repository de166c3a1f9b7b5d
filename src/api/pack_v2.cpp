// Version 2 object headers and which version to speak (api/pack.h).
#include <cctype>
#include <cstring>

#include "api/pack.h"

namespace converge {

namespace {

void PutUvarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads a canonical LEB128 varint at bytes[*at]: false when more bytes are
// needed; kInvalid when it is longer than it needs to be or past 64 bits.
Result<bool> GetUvarint(std::string_view bytes, size_t* at, uint64_t* v) {
  uint64_t value = 0;
  for (size_t i = 0; i < 10; i++) {
    if (*at + i >= bytes.size()) return false;
    uint8_t b = static_cast<uint8_t>(bytes[*at + i]);
    if (i == 9 && b > 1) return Invalid("malformed pack object header (a size past 64 bits)");
    value |= uint64_t{b & 0x7fu} << (7 * i);
    if (!(b & 0x80)) {
      if (i > 0 && b == 0)
        return Invalid("malformed pack object header (a size not in shortest form)");
      *at += i + 1;
      *v = value;
      return true;
    }
  }
  return Invalid("malformed pack object header (a size past 64 bits)");
}

ObjectId IdAt(std::string_view bytes, size_t at) {
  std::array<unsigned char, ObjectId::kBytes> b;
  std::memcpy(b.data(), bytes.data() + at, b.size());
  return ObjectId(b);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool SameText(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

std::string PackContentType(int version) {
  if (version >= 2) return std::string(kPackContentType) + "; version=2";
  return kPackContentType;
}

int PackVersionFromList(std::string_view list) {
  int best = 1;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    if (item == "2") best = 2;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return best;
}

int PackVersionAccepted(std::string_view accept) {
  int best = 1;
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    size_t semi = range.find(';');
    if (!SameText(Trim(range.substr(0, semi)), kPackContentType)) continue;
    while (semi != std::string_view::npos) {
      range.remove_prefix(semi + 1);
      semi = range.find(';');
      if (Trim(range.substr(0, semi)) == "version=2") best = 2;
    }
  }
  return best;
}

std::string PackObjectHeaderV2(const EncodedObject& o) {
  std::string out;
  out.reserve(kMaxV2HeaderBytes);
  out.push_back(static_cast<char>(static_cast<int>(o.kind) + 1));
  out.push_back(static_cast<char>(o.encoding));
  out.append(reinterpret_cast<const char*>(o.id.data()), ObjectId::kBytes);
  PutUvarint(out, o.size);
  if (o.encoding != Encoding::kRaw) PutUvarint(out, o.stored);
  if (o.encoding == Encoding::kZstdDelta)
    out.append(reinterpret_cast<const char*>(o.base.data()), ObjectId::kBytes);
  return out;
}

Result<size_t> ParsePackObjectHeaderV2(std::string_view bytes, EncodedObject* o, bool* end) {
  *end = false;
  if (bytes.empty()) return size_t{0};
  uint8_t kind = static_cast<uint8_t>(bytes[0]);
  if (kind == 0) {
    *end = true;
    return size_t{1};
  }
  if (kind > 4) return Invalid("malformed pack object header (kind " + std::to_string(kind) + ")");
  if (bytes.size() < 2) return size_t{0};
  uint8_t encoding = static_cast<uint8_t>(bytes[1]);
  if (encoding > 2)
    return Invalid("malformed pack object header (encoding " + std::to_string(encoding) + ")");
  size_t at = 2 + ObjectId::kBytes;
  if (bytes.size() < at) return size_t{0};
  EncodedObject got;
  got.kind = static_cast<ObjectKind>(kind - 1);
  got.encoding = static_cast<Encoding>(encoding);
  got.id = IdAt(bytes, 2);
  ASSIGN_OR_RETURN(bool have, GetUvarint(bytes, &at, &got.size));
  if (!have) return size_t{0};
  got.stored = got.size;
  if (got.encoding != Encoding::kRaw) {
    ASSIGN_OR_RETURN(have, GetUvarint(bytes, &at, &got.stored));
    if (!have) return size_t{0};
  }
  if (got.encoding == Encoding::kZstdDelta) {
    if (bytes.size() < at + ObjectId::kBytes) return size_t{0};
    got.base = IdAt(bytes, at);
    at += ObjectId::kBytes;
  }
  *o = got;
  return at;
}

}  // namespace converge

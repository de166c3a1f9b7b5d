// DecodeManifest parses canonical bytes by hand; this holds it to a reference
// built on nlohmann::json (the decoder it replaced): same verdict and same
// entries for random manifests and for many byte-level mutations of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "base/json.h"
#include "base/text.h"
#include "store/objects.h"

namespace converge {
namespace {

using json = nlohmann::json;

bool HasExactly(const json& j, std::initializer_list<const char*> keys) {
  if (j.size() != keys.size()) return false;
  for (const char* k : keys)
    if (!j.contains(k)) return false;
  return true;
}

std::optional<ObjectId> IdAt(const json& j, const char* key) {
  if (!j[key].is_string()) return std::nullopt;
  return ObjectId::FromHex(j[key].get_ref<const std::string&>());
}

std::optional<Entry> ReferenceEntry(const json& j) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string() || !j.contains("name") ||
      !j["name"].is_string())
    return std::nullopt;
  Entry e;
  e.name = j["name"].get<std::string>();
  if (!ValidateName(e.name).ok()) return std::nullopt;
  std::string type = j["type"].get<std::string>();
  std::optional<ObjectId> id;
  if (type == "file") {
    e.chunked = j.contains("chunks");
    const char* key = e.chunked ? "chunks" : "blob";
    if (!HasExactly(j, {"name", "type", key, "size", "executable"}) || !(id = IdAt(j, key)) ||
        !j["size"].is_number_unsigned() || !j["executable"].is_boolean())
      return std::nullopt;
    e.size = j["size"].get<uint64_t>();
    e.executable = j["executable"].get<bool>();
  } else if (type == "dir") {
    e.type = EntryType::kDir;
    if (!HasExactly(j, {"name", "type", "manifest"}) || !(id = IdAt(j, "manifest")))
      return std::nullopt;
  } else if (type == "symlink") {
    e.type = EntryType::kSymlink;
    if (!HasExactly(j, {"name", "type", "target"}) || !j["target"].is_string()) return std::nullopt;
    e.target = j["target"].get<std::string>();
    if (e.target.empty() || e.target.find('\0') != std::string::npos) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (id) e.id = *id;
  return e;
}

// Parse as JSON, check the shape, and require the bytes to be exactly the
// canonical encoding of what was read.
std::optional<Manifest> ReferenceDecode(std::string_view bytes) {
  Result<json> j = ParseJson(bytes, 4);
  if (!j.ok() || !j->is_object() || !HasExactly(*j, {"entries", "version"}) ||
      !(*j)["version"].is_number_unsigned() || (*j)["version"].get<uint64_t>() != 1 ||
      !(*j)["entries"].is_array())
    return std::nullopt;
  Manifest m;
  for (const json& je : (*j)["entries"]) {
    std::optional<Entry> e = ReferenceEntry(je);
    if (!e || (!m.entries.empty() && !(m.entries.back().name < e->name))) return std::nullopt;
    m.entries.push_back(std::move(*e));
  }
  if (EncodeManifest(m) != bytes) return std::nullopt;
  return m;
}

std::string RandomName(std::mt19937& rng) {
  static const std::vector<std::string> pieces = {
      "a",    "b",    "z",    ".",         "..",           "-",    "\"", "\\", "\n", "\t",
      "\x01", "\x1f", "\x7f", "h\xc3\xa9", "\xe2\x82\xac", "\xff", "/",  " ",  "0",  "\\u0000"};
  std::string name;
  size_t n = 1 + rng() % 4;
  for (size_t i = 0; i < n; i++) name += pieces[rng() % pieces.size()];
  return name;
}

Manifest RandomManifest(std::mt19937& rng) {
  Manifest m;
  size_t n = rng() % 6;
  for (size_t i = 0; i < n; i++) {
    Entry e;
    e.name = RandomName(rng);
    if (!ValidateName(e.name).ok()) continue;
    e.id = ObjectId::Of(std::to_string(rng()));
    switch (rng() % 4) {
      case 0:
        e.type = EntryType::kDir;
        break;
      case 1:
        e.type = EntryType::kSymlink;
        e.target = RandomName(rng);
        break;
      default:
        e.chunked = rng() % 3 == 0;
        e.executable = rng() % 2 == 0;
        e.size = rng() % 3 == 0 ? 0 : (rng() % 2 ? rng() : UINT64_MAX - rng() % 10);
    }
    if (e.type == EntryType::kSymlink && !IsValidUtf8(e.target)) continue;
    m.entries.push_back(e);
  }
  std::sort(m.entries.begin(), m.entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  auto same_name = [](const Entry& a, const Entry& b) { return a.name == b.name; };
  m.entries.erase(std::unique(m.entries.begin(), m.entries.end(), same_name), m.entries.end());
  return m;
}

std::string Mutate(std::string s, std::mt19937& rng) {
  static const std::string alphabet = std::string("\"\\u0019afx{}[],: -\x01\x7f\xff", 20) + '\0';
  char c = alphabet[rng() % alphabet.size()];
  size_t at = s.empty() ? 0 : rng() % s.size();
  switch (rng() % 5) {
    case 0:
      if (!s.empty()) s[at] = c;
      break;
    case 1:
      s.insert(s.begin() + static_cast<ptrdiff_t>(at), c);
      break;
    case 2:
      if (!s.empty()) s.erase(at, 1 + rng() % 3);
      break;
    case 3:
      s.insert(at, s.substr(at, rng() % 40));
      break;  // a repeated span
    default:
      if (!s.empty()) s[at] = static_cast<char>(s[at] ^ (1 << (rng() % 8)));
  }
  return s;
}

void ExpectSameVerdict(const std::string& bytes) {
  std::optional<Manifest> want = ReferenceDecode(bytes);
  Result<Manifest> got = DecodeManifest(bytes);
  ASSERT_EQ(got.ok(), want.has_value()) << Quote(bytes) << ": " << got.status().message();
  if (!got.ok()) {
    EXPECT_EQ(got.status().code(), Code::kCorrupt) << Quote(bytes);
    return;
  }
  EXPECT_EQ(got->entries, want->entries) << Quote(bytes);
}

TEST(ManifestDecode, AgreesWithTheJsonReferenceOnRandomManifests) {
  std::mt19937 rng(20261126);
  for (int i = 0; i < 2000; i++) {
    std::string bytes = EncodeManifest(RandomManifest(rng));
    ASSERT_TRUE(DecodeManifest(bytes).ok()) << Quote(bytes);
    ExpectSameVerdict(bytes);
  }
}

TEST(ManifestDecode, AgreesWithTheJsonReferenceOnMutatedBytes) {
  std::mt19937 rng(7);
  int accepted = 0;
  for (int i = 0; i < 600; i++) {
    std::string bytes = EncodeManifest(RandomManifest(rng));
    for (int k = 0; k < 40; k++) {
      std::string mutated = Mutate(bytes, rng);
      if (rng() % 4 == 0) mutated = Mutate(mutated, rng);
      ExpectSameVerdict(mutated);
      if (DecodeManifest(mutated).ok()) accepted++;
    }
  }
  EXPECT_GT(accepted, 50);  // some mutations are themselves canonical manifests
}

TEST(ManifestDecode, RefusesOtherSpellingsOfTheSameText) {
  std::string blob = ObjectId::Of("").hex();
  auto file = [&](const std::string& name_json) {
    return R"({"entries":[{"blob":")" + blob + R"(","executable":false,"name":)" + name_json +
           R"(,"size":0,"type":"file"}],"version":1})";
  };
  EXPECT_TRUE(DecodeManifest(file(R"("a\nb")")).ok());
  EXPECT_TRUE(DecodeManifest(file(R"("a\u0001b")")).ok());
  EXPECT_FALSE(DecodeManifest(file(R"("a\u000ab")")).ok());  // \n has a short escape
  EXPECT_FALSE(DecodeManifest(file(R"("a\u0041")")).ok());   // 'A' needs no escape
  EXPECT_FALSE(DecodeManifest(file(R"("a\u001F")")).ok());   // uppercase hex
  EXPECT_FALSE(DecodeManifest(file(R"("a\/b")")).ok());
  EXPECT_FALSE(DecodeManifest(file("\"a\x01\"")).ok());  // a raw control character
}

TEST(ManifestDecode, SizesAreCanonicalDecimal) {
  std::string blob = ObjectId::Of("").hex();
  auto sized = [&](const std::string& size) {
    return R"({"entries":[{"blob":")" + blob + R"(","executable":true,"name":"f","size":)" + size +
           R"(,"type":"file"}],"version":1})";
  };
  EXPECT_EQ(DecodeManifest(sized("18446744073709551615"))->entries[0].size, UINT64_MAX);
  EXPECT_FALSE(DecodeManifest(sized("18446744073709551616")).ok());
  EXPECT_FALSE(DecodeManifest(sized("007")).ok());
  EXPECT_FALSE(DecodeManifest(sized("7.0")).ok());
  EXPECT_FALSE(DecodeManifest(sized("")).ok());
  EXPECT_EQ(DecodeManifest(sized("0"))->entries[0].size, 0u);
}

}  // namespace
}  // namespace converge

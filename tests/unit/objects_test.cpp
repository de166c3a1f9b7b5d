// Object IDs and canonical encodings. The golden IDs were computed
// independently (Python hashlib.blake2b, digest_size=32, json.dumps with
// sort_keys and compact separators): they must never change.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "store/object_refs.h"
#include "store/objects.h"

namespace converge {
namespace {

ObjectId Id(const char* hex) {
  return *ObjectId::FromHex(hex);
}

TEST(Hash, KnownValues) {
  EXPECT_EQ(ObjectId::Of("").hex(),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(ObjectId::Of("hello\n").hex(),
            "93becc6e9882211c3ec3708c95bcd69baab7bb59c7f4bc84ce637b88a534b783");
}

TEST(Hash, StreamingEqualsOneShot) {
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7);
  Hasher h;
  for (size_t i = 0; i < data.size(); i += 999) h.Update(std::string_view(data).substr(i, 999));
  EXPECT_EQ(h.Finish(), ObjectId::Of(data));
}

TEST(Hash, FromHexRejectsBadInput) {
  EXPECT_FALSE(ObjectId::FromHex(""));
  EXPECT_FALSE(ObjectId::FromHex(std::string(63, 'a')));
  EXPECT_FALSE(ObjectId::FromHex(std::string(65, 'a')));
  EXPECT_FALSE(ObjectId::FromHex(std::string(64, 'A')));  // lowercase only
  EXPECT_FALSE(ObjectId::FromHex(std::string(63, 'a') + "g"));
  EXPECT_TRUE(ObjectId::FromHex(std::string(64, 'f')));
}

// FromHex reads through a table: every byte value, at either digit of a
// pair, is accepted exactly when it is a lowercase hex digit, and every
// byte value survives a round trip.
TEST(Hash, FromHexAcceptsExactlyLowercaseDigits) {
  std::string all;
  for (int b = 0; b < 256; b++) all.push_back(static_cast<char>(b));
  std::string hex = ToHex(reinterpret_cast<const unsigned char*>(all.data()), all.size());
  std::string back(all.size(), '\0');
  ASSERT_TRUE(FromHex(hex, reinterpret_cast<unsigned char*>(back.data()), back.size()));
  EXPECT_EQ(back, all);
  for (int c = 0; c < 256; c++) {
    bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    for (size_t at : {size_t{0}, size_t{1}, size_t{63}}) {
      std::string text(64, '7');
      text[at] = static_cast<char>(c);
      EXPECT_EQ(ObjectId::FromHex(text).has_value(), digit) << "byte " << c << " at " << at;
    }
  }
}

Manifest GoldenManifest() {
  Manifest m;
  Entry link{"link", EntryType::kSymlink, {}, false, 0, false, "a.txt"};
  Entry dir{"bin",
            EntryType::kDir,
            Id("8ab5e25c565cb3b38661169f3a8b157b275f982fb130a1049ca9ba054b43bcdf"),
            false,
            0,
            false,
            ""};
  Entry file{"a.txt",
             EntryType::kFile,
             Id("93becc6e9882211c3ec3708c95bcd69baab7bb59c7f4bc84ce637b88a534b783"),
             false,
             6,
             false,
             ""};
  m.entries = {link, dir, file};  // unsorted on purpose
  return m;
}

TEST(Manifest, GoldenBytesAndId) {
  Manifest m = GoldenManifest();
  ASSERT_TRUE(NormalizeManifest(m).ok());
  std::string bytes = EncodeManifest(m);
  EXPECT_EQ(
      bytes,
      R"({"entries":[{"blob":"93becc6e9882211c3ec3708c95bcd69baab7bb59c7f4bc84ce637b88a534b783",)"
      R"("executable":false,"name":"a.txt","size":6,"type":"file"},{"manifest":)"
      R"("8ab5e25c565cb3b38661169f3a8b157b275f982fb130a1049ca9ba054b43bcdf","name":"bin",)"
      R"("type":"dir"},{"name":"link","target":"a.txt","type":"symlink"}],"version":1})");
  EXPECT_EQ(ObjectId::Of(bytes).hex(),
            "c99cfd24350e2d8e3fb927a43313d24a5105e945af35863db756cb9e62a0b3c9");
  EXPECT_EQ(ObjectId::Of(EncodeManifest(Manifest{})).hex(),
            "8ab5e25c565cb3b38661169f3a8b157b275f982fb130a1049ca9ba054b43bcdf");
}

// The reference encoding, built through nlohmann::json as the contract
// describes it (sorted keys, compact); EncodeManifest writes bytes by hand.
std::string ReferenceManifest(const Manifest& m) {
  nlohmann::json entries = nlohmann::json::array();
  for (const Entry& e : m.entries) {
    nlohmann::json j = {{"name", e.name}};
    if (e.type == EntryType::kFile) {
      j["type"] = "file", j[e.chunked ? "chunks" : "blob"] = e.id.hex();
      j["size"] = e.size, j["executable"] = e.executable;
    } else if (e.type == EntryType::kDir) {
      j["type"] = "dir", j["manifest"] = e.id.hex();
    } else {
      j["type"] = "symlink", j["target"] = e.target;
    }
    entries.push_back(j);
  }
  return nlohmann::json{{"entries", entries}, {"version", 1}}.dump();
}

TEST(Manifest, EncodingMatchesTheReferenceEncoder) {
  Manifest m;
  const char* names[] = {"a",           "q\"uote",          "back\\slash", "tab\tname", "\x01ctl",
                         "caf\xc3\xa9", "\xf0\x9f\x98\x80", "del\x7f",     "sp ace",    "0"};
  uint64_t n = 0;
  for (const char* name : names) {
    for (EntryType type : {EntryType::kFile, EntryType::kDir, EntryType::kSymlink}) {
      n++;
      Entry e{std::string(name) + std::to_string(n),
              type,
              ObjectId::Of(std::to_string(n)),
              n % 2 == 0,
              n * 1000003,
              n % 3 == 0,
              ""};
      if (type != EntryType::kFile) e.chunked = e.executable = false, e.size = 0;
      if (type == EntryType::kSymlink) e.target = std::string("../") + name, e.id = ObjectId();
      m.entries.push_back(e);
    }
  }
  m.entries.front().size = UINT64_MAX;  // a file: the largest size still round-trips
  ASSERT_TRUE(NormalizeManifest(m).ok());
  EXPECT_EQ(EncodeManifest(m), ReferenceManifest(m));
  EXPECT_EQ(EncodeManifest(Manifest{}), ReferenceManifest(Manifest{}));
  auto back = DecodeManifest(EncodeManifest(m));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->entries, m.entries);
}

TEST(Manifest, RoundTrip) {
  Manifest m = GoldenManifest();
  ASSERT_TRUE(NormalizeManifest(m).ok());
  auto back = DecodeManifest(EncodeManifest(m));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->entries, m.entries);
}

TEST(Manifest, ChunkedFileEntry) {
  Manifest m;
  m.entries.push_back(Entry{"big", EntryType::kFile, ObjectId::Of("x"), true, 9 << 20, true, ""});
  std::string bytes = EncodeManifest(m);
  EXPECT_NE(bytes.find("\"chunks\":"), std::string::npos);
  EXPECT_EQ(bytes.find("\"blob\":"), std::string::npos);
  auto back = DecodeManifest(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->entries[0].chunked);
  auto refs = ReferencesOf(ObjectKind::kManifest, bytes);
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].kind, ObjectKind::kChunkList);
}

TEST(Manifest, RejectsNonCanonicalForms) {
  std::string good = EncodeManifest(Manifest{});
  EXPECT_TRUE(DecodeManifest(good).ok());
  EXPECT_FALSE(DecodeManifest(R"({"version":1,"entries":[]})").ok());   // keys unsorted
  EXPECT_FALSE(DecodeManifest(R"({"entries": [],"version":1})").ok());  // whitespace
  EXPECT_FALSE(DecodeManifest(R"({"entries":[],"version":2})").ok());
  EXPECT_FALSE(DecodeManifest(R"({"entries":[]})").ok());
  EXPECT_FALSE(DecodeManifest(R"({"entries":[],"extra":1,"version":1})").ok());
  EXPECT_FALSE(DecodeManifest("[]").ok());
  EXPECT_FALSE(DecodeManifest("not json").ok());
  EXPECT_FALSE(DecodeManifest(std::string(100000, '[')).ok());
}

std::string OneEntry(const std::string& entry) {
  return R"({"entries":[)" + entry + R"(],"version":1})";
}

TEST(Manifest, RejectsBadEntries) {
  std::string blob = ObjectId::Of("").hex();
  auto file = [&](const std::string& name) {
    return R"({"blob":")" + blob + R"(","executable":false,"name":")" + name +
           R"(","size":0,"type":"file"})";
  };
  EXPECT_TRUE(DecodeManifest(OneEntry(file("ok"))).ok());
  for (const char* bad : {"", ".", "..", "a/b", "/abs"})
    EXPECT_FALSE(DecodeManifest(OneEntry(file(bad))).ok()) << bad;
  EXPECT_FALSE(DecodeManifest(OneEntry(file("a\\u0000b"))).ok());
  EXPECT_FALSE(DecodeManifest(OneEntry(file("x") + "," + file("x"))).ok());  // duplicate
  EXPECT_FALSE(DecodeManifest(OneEntry(file("b") + "," + file("a"))).ok());  // unsorted
  EXPECT_FALSE(DecodeManifest(OneEntry(R"({"name":"s","target":"","type":"symlink"})")).ok());
  EXPECT_FALSE(DecodeManifest(OneEntry(R"({"name":"d","type":"dir"})")).ok());
  EXPECT_FALSE(DecodeManifest(OneEntry(R"({"name":"w","type":"weird"})")).ok());
  EXPECT_FALSE(DecodeManifest(OneEntry(R"({"blob":"xyz","executable":false,"name":"f",)"
                                       R"("size":0,"type":"file"})"))
                   .ok());
  EXPECT_FALSE(DecodeManifest(OneEntry(R"({"blob":")" + blob +
                                       R"(","executable":false,)"
                                       R"("name":"f","size":-1,"type":"file"})"))
                   .ok());
}

TEST(Names, Validation) {
  EXPECT_TRUE(ValidateName("a").ok());
  EXPECT_TRUE(ValidateName("...").ok());
  EXPECT_TRUE(ValidateName(".hidden").ok());
  EXPECT_TRUE(ValidateName("h\xc3\xa9llo").ok());
  EXPECT_TRUE(ValidateName("new\nline").ok());
  EXPECT_FALSE(ValidateName("").ok());
  EXPECT_FALSE(ValidateName(".").ok());
  EXPECT_FALSE(ValidateName("..").ok());
  EXPECT_FALSE(ValidateName("a/b").ok());
  EXPECT_FALSE(ValidateName(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateName("\xff").ok());
  EXPECT_FALSE(ValidateName("\xc0\xaf").ok());  // overlong '/'
}

// A snap holding ".converge" could plant a workspace where it is restored.
TEST(Names, DotConvergeIsReservedInAnyCase) {
  for (const char* name : {".converge", ".Converge", ".CONVERGE", ".cOnVeRgE"}) {
    EXPECT_TRUE(IsReservedName(name)) << name;
    Status st = ValidateName(name);
    EXPECT_FALSE(st.ok()) << name;
    EXPECT_NE(st.message().find("reserved"), std::string::npos) << st.message();
  }
  for (const char* name : {"converge", ".converge2", ".convergeignore", "x.converge", ".converg",
                           ".converge-restore.0123456789abcdef.tmp"}) {
    EXPECT_FALSE(IsReservedName(name)) << name;
    EXPECT_TRUE(ValidateName(name).ok()) << name;
  }
  // Every decoder refuses it, whatever the entry's type.
  std::string blob = ObjectId::Of("").hex();
  for (const std::string& entry :
       {R"({"blob":")" + blob +
            R"(","executable":false,"name":".converge","size":0,"type":"file"})",
        R"({"manifest":")" + blob + R"(","name":".converge","type":"dir"})",
        std::string(R"({"name":".Converge","target":"cfg","type":"symlink"})")}) {
    Result<Manifest> m = DecodeManifest(OneEntry(entry));
    EXPECT_FALSE(m.ok()) << entry;
    EXPECT_NE(m.status().message().find("reserved"), std::string::npos) << m.status().message();
  }
  Manifest m;
  m.entries.push_back(Entry{".converge", EntryType::kSymlink, {}, false, 0, false, "cfg"});
  EXPECT_EQ(NormalizeManifest(m).code(), Code::kInvalid);
}

TEST(Manifest, NormalizeRejectsDuplicates) {
  Manifest m;
  m.entries.push_back(Entry{"x", EntryType::kSymlink, {}, false, 0, false, "t"});
  m.entries.push_back(Entry{"x", EntryType::kSymlink, {}, false, 0, false, "u"});
  EXPECT_EQ(NormalizeManifest(m).code(), Code::kInvalid);
}

TEST(Snap, GoldenAndRoundTrip) {
  Snap s;
  s.root = Id("8ab5e25c565cb3b38661169f3a8b157b275f982fb130a1049ca9ba054b43bcdf");
  s.created_at = "2026-11-25T21:56:44Z";
  s.message = "first";
  s.workspace_id = "w1";
  std::string bytes = EncodeSnap(s);
  EXPECT_EQ(bytes,
            R"({"created_at":"2026-11-25T21:56:44Z","message":"first","parent":null,"root":)"
            R"("8ab5e25c565cb3b38661169f3a8b157b275f982fb130a1049ca9ba054b43bcdf","version":1,)"
            R"("workspace_id":"w1"})");
  auto back = DecodeSnap(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->root, s.root);
  EXPECT_FALSE(back->parent);
  s.parent = ObjectId::Of("p");
  back = DecodeSnap(EncodeSnap(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back->parent, *s.parent);
  auto refs = ReferencesOf(ObjectKind::kSnap, EncodeSnap(s));
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), 1u);  // the parent is history, not a reference
  EXPECT_EQ((*refs)[0], (ObjectRef{ObjectKind::kManifest, s.root}));
}

TEST(ChunkList, SizesMustAddUp) {
  ChunkList c;
  c.chunks = {{ObjectId::Of("a"), 10}, {ObjectId::Of("b"), 5}};
  c.size = 15;
  auto back = DecodeChunkList(EncodeChunkList(c));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->chunks.size(), 2u);
  c.size = 16;
  EXPECT_EQ(DecodeChunkList(EncodeChunkList(c)).status().code(), Code::kCorrupt);
  c.chunks.clear();
  c.size = 0;
  EXPECT_FALSE(DecodeChunkList(EncodeChunkList(c)).ok());
}

// One mapping from a manifest entry to what it references, used by
// ReferencesOf, both fscks, intake, negotiation and download.
TEST(EntryRef, DirFileChunkedSymlink) {
  Entry e;
  e.id = ObjectId::Of("x");
  e.type = EntryType::kDir;
  EXPECT_EQ(EntryRef(e), (ObjectRef{ObjectKind::kManifest, e.id}));
  e.type = EntryType::kFile;
  EXPECT_EQ(EntryRef(e), (ObjectRef{ObjectKind::kBlob, e.id}));
  e.chunked = true;
  EXPECT_EQ(EntryRef(e), (ObjectRef{ObjectKind::kChunkList, e.id}));
  e.type = EntryType::kSymlink;
  EXPECT_EQ(EntryRef(e), std::nullopt);
}

}  // namespace
}  // namespace converge

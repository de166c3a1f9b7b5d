// Test support: canonical objects built in memory (blobs, manifests, snaps, a
// small tree and a snap of it) and packs of them, for tests that upload to a
// server, whether spawned (tests/contract) or in-process (tests/service).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <zstd.h>

#include "api/pack.h"
#include "store/compress.h"
#include "store/objects.h"

namespace converge::testing {

// One object ready to upload: its kind, canonical bytes and ID.
struct TestObject {
  ObjectKind kind;
  std::string bytes;
  ObjectId id;

  std::string hex() const { return id.hex(); }
  // "/v1/repos/R/blobs/ID" and so on.
  std::string Path(const std::string& repo) const {
    return "/v1/repos/" + repo + "/" + KindName(kind) + "s/" + id.hex();
  }
};

inline TestObject Blob(const std::string& content) {
  return {ObjectKind::kBlob, content, ObjectId::Of(content)};
}

inline Entry FileEntry(const std::string& name, const TestObject& blob) {
  Entry e;
  e.name = name;
  e.type = EntryType::kFile;
  e.id = blob.id;
  e.size = blob.kind == ObjectKind::kBlob ? blob.bytes.size() : 0;
  e.chunked = blob.kind == ObjectKind::kChunkList;
  return e;
}

inline Entry DirEntry(const std::string& name, const TestObject& manifest) {
  Entry e;
  e.name = name;
  e.type = EntryType::kDir;
  e.id = manifest.id;
  return e;
}

// A manifest of `entries` (sorted here). Names are not validated, so tests can
// build bad ones.
inline TestObject ManifestOf(std::vector<Entry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  Manifest m{entries};
  std::string bytes = EncodeManifest(m);
  return {ObjectKind::kManifest, bytes, ObjectId::Of(bytes)};
}

inline TestObject SnapOf(const TestObject& root, const std::string& message = "test") {
  Snap s;
  s.root = root.id;
  s.created_at = "2026-01-01T00:00:00Z";
  s.message = message;
  s.workspace_id = "ws-test";
  std::string bytes = EncodeSnap(s);
  return {ObjectKind::kSnap, bytes, ObjectId::Of(bytes)};
}

// A tree (two blobs, a subdir, a root manifest) and a snap of it.
struct TestTree {
  std::vector<TestObject> objects;  // leaves first; the snap is last
  const TestObject& snap() const { return objects.back(); }
};

inline TestTree MakeTree(const std::string& seed) {
  TestObject a = Blob("alpha " + seed), b = Blob("beta " + seed + std::string(1000, 'b'));
  TestObject sub = ManifestOf({FileEntry("b.txt", b)});
  TestObject root = ManifestOf({FileEntry("a.txt", a), DirEntry("sub", sub)});
  return {{a, b, sub, root, SnapOf(root, seed)}};
}

inline std::string PackOf(const std::vector<TestObject>& objects) {
  std::string out(kPackMagic);
  for (const TestObject& o : objects)
    out += PackObjectHeader(o.kind, o.id, o.bytes.size()) + o.bytes;
  return out + std::string(kPackEnd);
}

// A zstd frame of `bytes` declaring their size, whether or not it pays
// (level 1, window at most 512 KiB: what a receiver takes).
inline std::string ZstdFrame(std::string_view bytes) {
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), 1);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// One object of a version 2 pack: its header and `stored` (its bytes when
// the encoding is raw).
inline std::string V2Record(ObjectKind kind, const ObjectId& id, uint64_t size, Encoding encoding,
                            const std::string& stored, const ObjectId& base = ObjectId()) {
  EncodedObject h{kind, id, size, encoding, stored.size(), base};
  return PackObjectHeaderV2(h) + stored;
}
inline std::string V2Raw(const TestObject& o) {
  return V2Record(o.kind, o.id, o.bytes.size(), Encoding::kRaw, o.bytes);
}
inline std::string V2Zstd(const TestObject& o) {
  return V2Record(o.kind, o.id, o.bytes.size(), Encoding::kZstd, ZstdFrame(o.bytes));
}
// A whole version 2 pack of `records`: plain, or (stream) as one zstd stream.
inline std::string PackV2Body(const std::string& records, bool stream = false) {
  std::string out(kPackMagicV2);
  out.push_back(stream ? '\1' : '\0');
  std::string inner = records + std::string(1, '\0');
  if (!stream) return out + inner;
  StreamCompressor z(kPackStreamLevel, kPackStreamWindowLog);
  auto append = [&](std::string_view b) {
    out.append(b);
    return Status::Ok();
  };
  EXPECT_TRUE(z.Write(inner, append).ok());
  EXPECT_TRUE(z.Finish(append).ok());
  return out;
}
// A version 2 pack of `objects`, each as a zstd frame.
inline std::string PackV2Of(const std::vector<TestObject>& objects, bool stream = false) {
  std::string records;
  for (const TestObject& o : objects) records += V2Zstd(o);
  return PackV2Body(records, stream);
}

struct PackedObject {
  ObjectKind kind;
  ObjectId id;
  std::string bytes;                   // as the object is (decompressed)
  Encoding encoding = Encoding::kRaw;  // as it came
};

// Parses a whole pack of either version (a frame decompressed); fails the
// test when it is malformed.
inline std::vector<PackedObject> ParsePack(const std::string& body) {
  struct Collect : PackParser::Handler {
    std::vector<PackedObject> out;
    uint64_t size = 0;
    Status Begin(ObjectKind kind, const ObjectId& id, uint64_t) override {
      out.push_back({kind, id, "", Encoding::kRaw});
      return Status::Ok();
    }
    Status BeginEncoded(const EncodedObject& o) override {
      out.push_back({o.kind, o.id, "", o.encoding});
      size = o.size;
      return Status::Ok();
    }
    Status Data(std::string_view b) override {
      out.back().bytes.append(b);
      return Status::Ok();
    }
    Status End() override {
      PackedObject& o = out.back();
      if (o.encoding != Encoding::kZstd) return Status::Ok();
      std::string raw(size, '\0');
      RETURN_IF_ERROR(DecompressStored(o.bytes, raw.data(), size));
      o.bytes = std::move(raw);
      return Status::Ok();
    }
  } collect;
  PackParser parser(collect);
  Status st = parser.Feed(body);
  if (st.ok()) st = parser.Finish();
  EXPECT_TRUE(st.ok()) << st.message();
  return collect.out;
}

}  // namespace converge::testing

// Test support: canonical objects built in memory (blobs, manifests, snaps, a
// small tree and a snap of it) and packs of them, for tests that upload to a
// server, whether spawned (tests/contract) or in-process (tests/service).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "api/pack.h"
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

struct PackedObject {
  ObjectKind kind;
  ObjectId id;
  std::string bytes;
};

// Parses a whole pack; fails the test when it is malformed.
inline std::vector<PackedObject> ParsePack(const std::string& body) {
  struct Collect : PackParser::Handler {
    std::vector<PackedObject> out;
    Status Begin(ObjectKind kind, const ObjectId& id, uint64_t) override {
      out.push_back({kind, id, ""});
      return Status::Ok();
    }
    Status Data(std::string_view b) override {
      out.back().bytes.append(b);
      return Status::Ok();
    }
    Status End() override { return Status::Ok(); }
  } collect;
  PackParser parser(collect);
  Status st = parser.Feed(body);
  if (st.ok()) st = parser.Finish();
  EXPECT_TRUE(st.ok()) << st.message();
  return collect.out;
}

}  // namespace converge::testing

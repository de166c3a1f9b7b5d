#include "support/store_helpers.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <stdexcept>
#include <vector>

#include "base/random.h"
#include "store/pack_format.h"
#include "store/pack_set.h"
#include "support/process.h"
#include "support/tree_helpers.h"

namespace converge::testing {

namespace {

ObjectStore OpenOrDie(const fs::path& root) {
  Result<ObjectStore> store = ObjectStore::Open(root);
  if (!store.ok()) throw std::runtime_error("open store: " + store.status().message());
  return std::move(*store);
}

}  // namespace

void DamageObject(const ObjectStore& store, const ObjectId& id, uint64_t offset) {
  Result<ObjectStore::Location> where = store.Locate(id);
  if (!where.ok()) throw std::runtime_error("damage: " + where.status().message());
  if (where->length == 0) throw std::runtime_error("damage: an empty object");
  FlipByte(where->file, where->offset + std::min(offset, where->length - 1));
}

void DamageObject(const fs::path& store_root, const ObjectId& id, uint64_t offset) {
  DamageObject(OpenOrDie(store_root), id, offset);
}

void DamageEveryCopy(const fs::path& store_root, const ObjectId& id, uint64_t offset) {
  ObjectStore store = OpenOrDie(store_root);
  size_t damaged = 0;
  std::atomic<uint64_t> read{0};
  for (const PackSet::Copy& c : store.packs().Find(id)) {
    bool seen = false;
    damaged++;
    if (!store.packs()
             .StreamCopy(
                 c, id, [](std::string_view) { return Status::Ok(); }, &seen, read)
             .ok())
      continue;
    uint64_t at = std::min(offset, c.entry.stored - 1);
    FlipByte(store.packs().dir() / c.index->packs()[c.entry.pack],
             c.entry.offset + kPackEntryHeaderBytes + at);
  }
  std::error_code ec;
  uint64_t size = fs::file_size(store.PathOf(id), ec);
  if (!ec && size > 0) {
    damaged++;
    if (store.VerifyLoose(id).ok()) FlipByte(store.PathOf(id), std::min(offset, size - 1));
  }
  if (damaged == 0) throw std::runtime_error("damage: no copy of " + id.hex());
}

size_t CopyCount(const fs::path& store_root, const ObjectId& id) {
  ObjectStore store = OpenOrDie(store_root);
  std::error_code ec;
  return store.packs().Find(id).size() + (fs::exists(store.PathOf(id), ec) ? 1 : 0);
}

bool ReadsBackAs(const fs::path& store_root, const ObjectId& id, const std::string& bytes) {
  Result<std::string> got = OpenOrDie(store_root).Read(id);
  return got.ok() && *got == bytes;
}

void RemoveObject(const ObjectStore& store, const ObjectId& id) {
  std::error_code ec;
  fs::remove(store.PathOf(id), ec);
  PackSet& packs = store.packs();
  if (!packs.Refresh().ok()) throw std::runtime_error("remove: cannot read packs/");
  for (const auto& idx : packs.Indexes()) {
    if (!idx->Find(id)) continue;
    std::vector<PackEntry> keep;
    for (size_t i = 0; i < idx->size(); i++)
      if (idx->entry(i).id != id) keep.push_back(idx->entry(i));
    std::string old_name = idx->name();
    if (!keep.empty()) {
      std::string bytes = EncodePackIndex(idx->packs(), keep);
      if (!WriteFileAtomic(packs.dir() / (RandomHex(16) + ".idx"), bytes, 0444).ok())
        throw std::runtime_error("remove: cannot write an index");
    }
    fs::remove(packs.dir() / old_name);
    if (keep.empty())  // its packs held only this object
      for (const std::string& p : idx->packs()) fs::remove(packs.dir() / p);
  }
  if (!packs.Refresh().ok()) throw std::runtime_error("remove: cannot read packs/");
}

void RemoveObject(const fs::path& store_root, const ObjectId& id) {
  RemoveObject(OpenOrDie(store_root), id);
}

bool StoreHas(const fs::path& store_root, const ObjectId& id) {
  return OpenOrDie(store_root).Has(id);
}

size_t ObjectCount(const fs::path& store_root) {
  size_t n = 0;
  Status st = OpenOrDie(store_root).ForEach([&](const ObjectId&) {
    n++;
    return Status::Ok();
  });
  if (!st.ok()) throw std::runtime_error("object count: " + st.message());
  return n;
}

std::string StoredBytes(const ObjectStore& store, const ObjectId& id) {
  Result<ObjectStore::Location> where = store.Locate(id);
  if (!where.ok()) throw std::runtime_error("stored bytes: " + where.status().message());
  std::string all = ReadFileOrDie(where->file);
  return all.substr(where->offset, where->length);
}

size_t CountFilesUnder(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file()) n++;
  return n;
}

void BackdateFiles(const fs::path& dir, int64_t seconds) {
  struct timespec times[2];
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = ::time(nullptr) - seconds;
  times[1].tv_nsec = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    ::utimensat(AT_FDCWD, it->path().c_str(), times, AT_SYMLINK_NOFOLLOW);
  ::utimensat(AT_FDCWD, dir.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

size_t CountPackFiles(const fs::path& store_root, const std::string& suffix) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(store_root / "packs"))
    if (e.path().string().ends_with(suffix)) n++;
  return n;
}

void ExpectEveryObject(const ObjectStore& store, const std::vector<std::string>& objects) {
  for (const std::string& o : objects) {
    Result<std::string> back = store.Read(ObjectId::Of(o));
    EXPECT_TRUE(back.ok() && *back == o) << (back.ok() ? "wrong bytes" : back.status().message());
  }
}

}  // namespace converge::testing

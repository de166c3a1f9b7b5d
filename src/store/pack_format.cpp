#include "store/pack_format.h"

#include <functional>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace converge {

namespace {

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

ObjectId IdAt(const unsigned char* p) {
  std::array<unsigned char, ObjectId::kBytes> b;
  std::memcpy(b.data(), p, b.size());
  return ObjectId(b);
}

Status BadIndex(const std::string& name, const std::string& what) {
  return Corrupt("pack index " + name + " is damaged: " + what +
                 " (run 'converge fsck'; its objects are unreadable until it is replaced)");
}

}  // namespace

std::string EncodeEntryHeader(const PackEntryHeader& h) {
  std::string out;
  out.reserve(kPackEntryHeaderBytes);
  PutLe(out, kPackEntryMarker, 4);
  out.push_back(static_cast<char>(h.kind));
  out.push_back(static_cast<char>(h.codec));
  PutLe(out, 0, 2);
  PutLe(out, h.raw, 8);
  PutLe(out, h.stored, 8);
  out.append(reinterpret_cast<const char*>(h.id.data()), ObjectId::kBytes);
  return out;
}

Result<PackEntryHeader> DecodeEntryHeader(std::string_view bytes) {
  if (bytes.size() < kPackEntryHeaderBytes) return Corrupt("pack entry header cut short");
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (GetLe(p, 4) != kPackEntryMarker) return Corrupt("no pack entry header here");
  PackEntryHeader h;
  h.kind = p[4];
  if (p[5] > static_cast<uint8_t>(Codec::kZstd)) return Corrupt("unknown codec in pack entry");
  h.codec = static_cast<Codec>(p[5]);
  if (GetLe(p + 6, 2) != 0) return Corrupt("reserved field of a pack entry is not zero");
  h.raw = GetLe(p + 8, 8);
  h.stored = GetLe(p + 16, 8);
  h.id = IdAt(p + 24);
  return h;
}

bool IsPackFileName(std::string_view name, std::string_view suffix) {
  if (name.size() <= suffix.size() || name.size() > kPackNameBytes - 1) return false;
  if (name.substr(name.size() - suffix.size()) != suffix) return false;
  for (char c : name.substr(0, name.size() - suffix.size()))
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

Status StreamPackIndex(const std::vector<std::string>& packs, size_t count,
                       const std::function<const PackEntry&(size_t)>& at,
                       const std::function<Status(std::string_view)>& sink) {
  constexpr size_t kPiece = 1u << 20;
  Hasher sum;
  std::string out;
  auto flush = [&]() -> Status {
    sum.Update(out);
    Status st = sink(out);
    out.clear();
    return st;
  };
  out.append(kPackIndexMagic);
  PutLe(out, packs.size(), 4);
  PutLe(out, 0, 4);
  PutLe(out, count, 8);
  for (const std::string& p : packs) {
    out.append(p);
    out.append(kPackNameBytes - p.size(), '\0');
  }
  uint32_t fanout[256] = {};
  for (size_t i = 0; i < count; i++) fanout[at(i).id.data()[0]]++;
  uint32_t total = 0;
  for (uint32_t& f : fanout) {
    total += f;
    f = total;
  }
  for (uint32_t f : fanout) PutLe(out, f, 4);
  for (size_t i = 0; i < count; i++) {
    const PackEntry& e = at(i);
    out.append(reinterpret_cast<const char*>(e.id.data()), ObjectId::kBytes);
    PutLe(out, e.pack, 4);
    out.push_back(static_cast<char>(e.kind));
    out.push_back(static_cast<char>(e.codec));
    PutLe(out, 0, 2);
    PutLe(out, e.offset, 8);
    PutLe(out, e.stored, 8);
    PutLe(out, e.raw, 8);
    if (out.size() >= kPiece) RETURN_IF_ERROR(flush());
  }
  RETURN_IF_ERROR(flush());
  ObjectId id = sum.Finish();
  return sink(std::string_view(reinterpret_cast<const char*>(id.data()), ObjectId::kBytes));
}

std::string EncodePackIndex(const std::vector<std::string>& packs, std::vector<PackEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const PackEntry& a, const PackEntry& b) { return a.id < b.id; });
  std::string out;
  out.reserve(kPackIndexHeaderBytes + packs.size() * kPackNameBytes + kPackFanoutBytes +
              entries.size() * kPackIndexEntryBytes + ObjectId::kBytes);
  Status st = StreamPackIndex(
      packs, entries.size(), [&](size_t i) -> const PackEntry& { return entries[i]; },
      [&](std::string_view piece) {
        out.append(piece);
        return Status::Ok();
      });
  (void)st;  // the sink never fails
  return out;
}

PackIndex::~PackIndex() {
  if (map_) ::munmap(map_, size_);
}

void PackIndex::ReleasePages(uint64_t keep_up_to) const {
  if (map_ && size_ > keep_up_to) ::madvise(map_, size_, MADV_DONTNEED);
}

Result<std::shared_ptr<const PackIndex>> PackIndex::Load(const fs::path& dir,
                                                         const std::string& name) {
  fs::path path = dir / name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open pack index '" + path.string() + "'", errno);
  Fd owner(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus("stat '" + path.string() + "'", errno);
  std::shared_ptr<PackIndex> idx(new PackIndex());
  idx->name_ = name;
  idx->size_ = static_cast<size_t>(st.st_size);
  if (idx->size_ > 0) {
    void* m = ::mmap(nullptr, idx->size_, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return ErrnoStatus("map pack index '" + path.string() + "'", errno);
    idx->map_ = m;
    idx->data_ = static_cast<const unsigned char*>(m);
  }
  RETURN_IF_ERROR(idx->Parse());
  return std::shared_ptr<const PackIndex>(std::move(idx));
}

Result<std::shared_ptr<const PackIndex>> PackIndex::FromBytes(std::string bytes,
                                                              const std::string& name) {
  std::shared_ptr<PackIndex> idx(new PackIndex());
  idx->name_ = name;
  idx->held_ = std::move(bytes);
  idx->size_ = idx->held_.size();
  idx->data_ = reinterpret_cast<const unsigned char*>(idx->held_.data());
  RETURN_IF_ERROR(idx->Parse());
  return std::shared_ptr<const PackIndex>(std::move(idx));
}

Status PackIndex::Parse() {
  size_t fixed = kPackIndexHeaderBytes + kPackFanoutBytes + ObjectId::kBytes;
  if (size_ < fixed) return BadIndex(name_, "shorter than its header");
  if (std::memcmp(data_, kPackIndexMagic.data(), kPackIndexMagic.size()) != 0)
    return BadIndex(name_, "not a pack index (wrong magic)");
  uint64_t packs = GetLe(data_ + 8, 4), count = GetLe(data_ + 16, 8);
  if (packs == 0 || packs > kMaxPacksPerIndex) return BadIndex(name_, "bad pack count");
  if (count > (size_ - fixed) / kPackIndexEntryBytes ||
      fixed + packs * kPackNameBytes + count * kPackIndexEntryBytes != size_)
    return BadIndex(name_, "its size does not match its counts");
  const unsigned char* p = data_ + kPackIndexHeaderBytes;
  for (uint64_t i = 0; i < packs; i++, p += kPackNameBytes) {
    std::string n(reinterpret_cast<const char*>(p), kPackNameBytes);
    n.resize(std::strlen(n.c_str()));
    if (!IsPackFileName(n, ".pack")) return BadIndex(name_, "a malformed pack name");
    packs_.push_back(std::move(n));
  }
  fanout_ = p;
  uint64_t prev = 0;
  for (int i = 0; i < 256; i++) {
    uint64_t f = GetLe(fanout_ + 4 * i, 4);
    if (f < prev) return BadIndex(name_, "its fanout table decreases");
    prev = f;
  }
  if (prev != count) return BadIndex(name_, "its fanout table does not end at its count");
  entries_ = fanout_ + kPackFanoutBytes;
  count_ = static_cast<size_t>(count);
  return Status::Ok();
}

const unsigned char* PackIndex::EntryAt(size_t i) const {
  return entries_ + i * kPackIndexEntryBytes;
}

PackEntry PackIndex::entry(size_t i) const {
  const unsigned char* p = EntryAt(i);
  PackEntry e;
  e.id = IdAt(p);
  e.pack = static_cast<uint32_t>(GetLe(p + 32, 4));
  e.kind = p[36];
  e.codec = static_cast<Codec>(p[37]);
  e.offset = GetLe(p + 40, 8);
  e.stored = GetLe(p + 48, 8);
  e.raw = GetLe(p + 56, 8);
  return e;
}

namespace {

// memcmp of two IDs, a word at a time: the lookups' inner loop, where a
// call to memcmp per probe cost a third of a million-object publish.
int CompareIds(const unsigned char* a, const unsigned char* b) {
  for (size_t at = 0; at < ObjectId::kBytes; at += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + at, 8);
    std::memcpy(&y, b + at, 8);
    if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
  }
  return 0;
}

// The first 8 bytes of an ID as a number, for interpolating.
uint64_t IdPrefix(const unsigned char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return __builtin_bswap64(x);
}

}  // namespace

// IDs are hashes, spread evenly: the first probes interpolate where the ID
// should be (two or three probes, on one or two pages, where bisection
// takes twelve on eight pages: a lookup's pages count as the process's
// memory, and each one touched costs a fault after a ReleasePages). An
// uneven spread (IDs ground to share a prefix) costs at most kInterpolations
// probes before bisection takes over.
std::optional<size_t> PackIndex::Find(const ObjectId& id) const {
  constexpr int kInterpolations = 4;
  unsigned first = id.data()[0];
  size_t lo = first == 0 ? 0 : static_cast<size_t>(GetLe(fanout_ + 4 * (first - 1), 4));
  size_t hi = static_cast<size_t>(GetLe(fanout_ + 4 * first, 4));
  uint64_t key = IdPrefix(id.data());
  // The bounds the interpolation works between: the bucket's whole range
  // of prefixes at first, then the prefixes of the entries probed.
  uint64_t klo = uint64_t{first} << 56, khi = klo | 0x00ffffffffffffffULL;
  for (int step = 0; lo < hi; step++) {
    size_t mid = lo + (hi - lo) / 2;
    if (step < kInterpolations && khi > klo && key >= klo && key <= khi) {
      unsigned __int128 span = static_cast<unsigned __int128>(key - klo) * (hi - lo);
      mid = lo + std::min(hi - lo - 1, static_cast<size_t>(span / (khi - klo)));
    }
    const unsigned char* at = EntryAt(mid);
    int c = CompareIds(at, id.data());
    if (c == 0) return mid;
    if (c < 0) {
      lo = mid + 1;
      klo = IdPrefix(at);
    } else {
      hi = mid;
      khi = IdPrefix(at);
    }
  }
  return std::nullopt;
}

Status PackIndex::CheckWhole() const {
  size_t body = size_ - ObjectId::kBytes;
  ObjectId sum = ObjectId::Of(std::string_view(reinterpret_cast<const char*>(data_), body));
  if (std::memcmp(sum.data(), data_ + body, ObjectId::kBytes) != 0)
    return BadIndex(name_, "its checksum does not match its bytes");
  for (size_t i = 0; i < count_; i++) {
    const unsigned char* p = EntryAt(i);
    if (i > 0 && std::memcmp(EntryAt(i - 1), p, ObjectId::kBytes) >= 0)
      return BadIndex(name_, "its entries are not sorted by ID");
    unsigned first = p[0];
    size_t lo = first == 0 ? 0 : static_cast<size_t>(GetLe(fanout_ + 4 * (first - 1), 4));
    size_t hi = static_cast<size_t>(GetLe(fanout_ + 4 * first, 4));
    if (i < lo || i >= hi) return BadIndex(name_, "its fanout table does not match its entries");
    if (GetLe(p + 32, 4) >= packs_.size()) return BadIndex(name_, "an entry names no pack");
    if (p[37] > static_cast<uint8_t>(Codec::kZstd) || GetLe(p + 38, 2) != 0)
      return BadIndex(name_, "an entry has an unknown codec");
  }
  return Status::Ok();
}

}  // namespace converge

#include "store/chunker.h"

#include <array>

namespace converge {

namespace {

// splitmix64 from a fixed seed: a table anyone can regenerate, never changed.
std::array<uint64_t, 256> MakeGear() {
  std::array<uint64_t, 256> g{};
  uint64_t x = 0x636f6e7665726765ULL;  // "converge"
  for (auto& v : g) {
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    v = z ^ (z >> 31);
  }
  return g;
}

const std::array<uint64_t, 256> kGear = MakeGear();

// The gear hash shifts left, so its high bits depend on the last 64 bytes:
// masks take the top bits. Normalized chunking: a harder mask (21 bits) before
// the average size, an easier one (17 bits) after, pulling sizes toward the
// 512 KiB average (2^19: two bits either side, as FastCDC's NC level 2).
constexpr uint64_t TopBits(int n) {
  return ~0ULL << (64 - n);
}
constexpr uint64_t kMaskHard = TopBits(21);
constexpr uint64_t kMaskEasy = TopBits(17);

}  // namespace

size_t NextChunkLength(const unsigned char* data, size_t len) {
  if (len <= ChunkParams::kMin) return len;
  size_t limit = len < ChunkParams::kMax ? len : ChunkParams::kMax;
  size_t normal = limit < ChunkParams::kAvg ? limit : ChunkParams::kAvg;
  uint64_t fp = 0;
  size_t i = ChunkParams::kMin;
  for (; i < normal; i++) {
    fp = (fp << 1) + kGear[data[i]];
    if ((fp & kMaskHard) == 0) return i + 1;
  }
  for (; i < limit; i++) {
    fp = (fp << 1) + kGear[data[i]];
    if ((fp & kMaskEasy) == 0) return i + 1;
  }
  return limit;  // no boundary: the chunk ends at kMax, or at the end of the file
}

}  // namespace converge

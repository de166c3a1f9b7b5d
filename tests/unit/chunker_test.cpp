// Content-defined chunking: deterministic, bounded, and local (an edit in the
// middle changes only the chunks around it).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "store/chunker.h"
#include "store/hash.h"

namespace converge {
namespace {

std::vector<unsigned char> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<unsigned char> v(n);
  for (auto& b : v) b = static_cast<unsigned char>(rng());
  return v;
}

std::vector<std::string> Chunks(const std::vector<unsigned char>& data) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t len = NextChunkLength(data.data() + pos, data.size() - pos);
    out.push_back(
        ObjectId::Of(std::string_view(reinterpret_cast<const char*>(data.data()) + pos, len))
            .hex());
    pos += len;
  }
  return out;
}

TEST(Chunker, BoundsAndDeterminism) {
  auto data = RandomBytes(24 << 20, 1);
  size_t pos = 0, count = 0;
  while (pos < data.size()) {
    size_t len = NextChunkLength(data.data() + pos, data.size() - pos);
    if (pos + len < data.size()) {
      EXPECT_GE(len, ChunkParams::kMin);
    }
    EXPECT_LE(len, ChunkParams::kMax);
    pos += len;
    count++;
  }
  // Around 512 KiB on average: 24 MiB gives a few dozen chunks.
  EXPECT_GE(count, 16u);
  EXPECT_LE(count, 120u);
  EXPECT_EQ(Chunks(data), Chunks(data));
}

TEST(Chunker, AnEditMovesFewChunks) {
  auto data = RandomBytes(32 << 20, 2);
  auto before = Chunks(data);
  data[data.size() / 2] ^= 1;
  auto after = Chunks(data);
  std::set<std::string> old(before.begin(), before.end());
  size_t changed = 0;
  for (const auto& c : after) changed += old.count(c) == 0;
  EXPECT_LE(changed, 2u);
  EXPECT_GE(changed, 1u);
}

}  // namespace
}  // namespace converge

// A process-wide cap on the bytes the store holds in memory for objects in
// flight: ObjectWriter buffers (objects being received or captured) and
// compression output. Past the cap nothing waits or fails: a writer spills
// to a temp file and an object is stored uncompressed. So any number of
// concurrent uploads (a server serves up to max_connections at once) cannot
// make the store's memory grow past it; reads need no budget (a read holds
// at most a few MiB: store/pack_set.h).
#pragma once

#include <atomic>
#include <cstdint>

namespace converge {

class MemoryBudget {
 public:
  static constexpr uint64_t kDefaultLimit = 128u << 20;
  static MemoryBudget& Global();

  // Takes `n` bytes if they fit under the limit.
  bool TryTake(uint64_t n);
  void Give(uint64_t n) { used_.fetch_sub(n); }
  uint64_t used() const { return used_.load(); }
  // Tests lower it; 0 means no room at all.
  void set_limit(uint64_t n) { limit_.store(n); }
  uint64_t limit() const { return limit_.load(); }

 private:
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> limit_{kDefaultLimit};
};

}  // namespace converge

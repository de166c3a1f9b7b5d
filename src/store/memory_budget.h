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
#include <string>
#include <string_view>
#include <utility>

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

// Bytes held in memory and counted against the global budget for as long as
// they are held (a frame received for storing as it is, a delta's base).
class BudgetedBytes {
 public:
  BudgetedBytes() = default;
  BudgetedBytes(BudgetedBytes&& o) noexcept
      : bytes_(std::move(o.bytes_)), taken_(std::exchange(o.taken_, 0)) {}
  BudgetedBytes& operator=(BudgetedBytes&& o) noexcept {
    Release();
    bytes_ = std::move(o.bytes_);
    taken_ = std::exchange(o.taken_, 0);
    return *this;
  }
  ~BudgetedBytes() { Release(); }

  // Counts `n` bytes (a capacity to fill) against the budget; false, holding
  // nothing, when they do not fit.
  bool Reserve(uint64_t n) {
    Release();
    if (!MemoryBudget::Global().TryTake(n)) return false;
    taken_ = n;
    bytes_.reserve(static_cast<size_t>(n));
    return true;
  }
  // Holds `b`, counting its size; false, holding nothing, when it does not fit.
  bool Adopt(std::string&& b) {
    Release();
    if (!MemoryBudget::Global().TryTake(b.size())) return false;
    taken_ = b.size();
    bytes_ = std::move(b);
    return true;
  }
  // Appends within the reserved capacity; false past it.
  bool Append(std::string_view b) {
    if (bytes_.size() + b.size() > taken_) return false;
    bytes_.append(b);
    return true;
  }
  bool held() const { return taken_ > 0; }
  std::string_view view() const { return bytes_; }
  std::string& bytes() { return bytes_; }
  void Release() {
    MemoryBudget::Global().Give(taken_);
    taken_ = 0;
    std::string().swap(bytes_);
  }

 private:
  std::string bytes_;
  uint64_t taken_ = 0;
};

}  // namespace converge

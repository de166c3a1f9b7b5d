#include "store/memory_budget.h"

namespace converge {

MemoryBudget& MemoryBudget::Global() {
  static MemoryBudget budget;
  return budget;
}

bool MemoryBudget::TryTake(uint64_t n) {
  uint64_t used = used_.load();
  do {
    if (n > limit_.load() || used > limit_.load() - n) return false;
  } while (!used_.compare_exchange_weak(used, used + n));
  return true;
}

}  // namespace converge

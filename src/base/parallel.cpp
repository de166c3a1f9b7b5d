#include "base/parallel.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace converge {

unsigned WorkerCount() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

Status ParallelFor(size_t n, unsigned threads, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= n || failed.load()) return;
      Status st = fn(i);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = st;
        failed = true;
      }
    }
  };
  size_t count = std::min<size_t>(threads, n);
  if (count <= 1) {
    worker();
    return first;
  }
  std::vector<std::thread> pool;
  for (size_t t = 1; t < count; t++) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return first;
}

}  // namespace converge

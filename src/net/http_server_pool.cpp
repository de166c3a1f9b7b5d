#include "net/http_server_pool.h"

#include <algorithm>

namespace converge {

ElasticPool::ElasticPool(size_t base, size_t max, std::function<void(size_t)> backlog)
    : max_(std::max(base, max)), backlog_(std::move(backlog)) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < std::max<size_t>(base, 1); i++) {
    threads_.emplace_back([this] { Work(); });
    idle_++;
  }
}

ElasticPool::~ElasticPool() {
  shutdown();
}

void ElasticPool::enqueue(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.push_back(std::move(fn));
  // Threads stay once started: a burst leaves the pool at its high-water mark.
  if (idle_ < jobs_.size() && threads_.size() < max_) {
    threads_.emplace_back([this] { Work(); });
    idle_++;
  }
  cv_.notify_one();
  ReportBacklog();
}

void ElasticPool::ReportBacklog() {
  size_t waiting = jobs_.size() > idle_ ? jobs_.size() - idle_ : 0;
  if (backlog_ && (waiting > 0 || reported_ > 0)) backlog_(waiting);
  reported_ = waiting;
}

void ElasticPool::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : threads) t.join();
}

void ElasticPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // shutting down, nothing left to do
    std::function<void()> fn = std::move(jobs_.front());
    jobs_.pop_front();
    idle_--;
    ReportBacklog();
    lock.unlock();
    fn();
    fn = nullptr;
    lock.lock();
    idle_++;
  }
}

}  // namespace converge

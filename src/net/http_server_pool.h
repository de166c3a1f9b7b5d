// The server's thread pool (httplib's task queue), which grows with the
// connections it serves and reports those left waiting.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace converge {

// httplib's task queue, one task per connection. httplib's own ThreadPool
// has a fixed size, so that as many stalled clients as threads stop everyone
// else until they time out; this one starts `base` threads and adds one
// whenever a connection arrives with none idle, up to `max`. Past that,
// connections wait their turn, and `backlog` hears how many wait (called
// with the pool's lock held: it must not call back into the pool).
class ElasticPool : public httplib::TaskQueue {
 public:
  ElasticPool(size_t base, size_t max, std::function<void(size_t)> backlog = nullptr);
  ~ElasticPool() override;
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void Work();
  void ReportBacklog();

  size_t max_;
  std::function<void(size_t)> backlog_;
  size_t reported_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;  // threads not running a job, those starting included
  bool shutdown_ = false;
};

}  // namespace converge

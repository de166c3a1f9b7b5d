// A background thread that runs a task every so often while a server runs
// (the data dir's sweep, server/sweep.h; the node lock's upkeep,
// server/node_lock.h), and stops cleanly with it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace converge {

class PeriodicTask {
 public:
  // Starts the thread: `task` runs after `interval`, then every `interval`
  // (measured from the end of the run before), never two at once.
  PeriodicTask(std::chrono::milliseconds interval, std::function<void()> task);
  ~PeriodicTask() { Stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Wakes the thread, lets a run in progress finish, and joins it. Safe to
  // call more than once.
  void Stop();

 private:
  void Loop();

  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace converge

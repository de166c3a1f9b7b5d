// A one-line progress meter on stderr (objects, bytes, rate), drawn only when
// stderr is a terminal and the command is not printing --json. Thread-safe;
// redraws at most ten times a second.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace converge {

class Progress {
 public:
  // `total_items`/`total_bytes` may be 0 when unknown.
  Progress(std::string label, uint64_t total_items, uint64_t total_bytes, bool enabled);
  ~Progress();
  // Turns drawing off for the whole process (set by --json).
  static void SetQuiet(bool quiet);

  void Add(uint64_t items, uint64_t bytes);
  void SetTotals(uint64_t total_items, uint64_t total_bytes);
  void Done();

 private:
  void Draw(bool final);

  std::string label_;
  std::atomic<uint64_t> items_{0}, bytes_{0}, total_items_, total_bytes_;
  bool enabled_;
  bool done_ = false;
  std::mutex mu_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1.5 MiB" style sizes for humans.
std::string HumanBytes(uint64_t bytes);

}  // namespace converge

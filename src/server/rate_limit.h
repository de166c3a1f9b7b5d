// Backoff for requests without a valid token (failed or missing), per remote
// address.
//
// Guessing tokens is hopeless (256-bit secrets), but every attempt costs a
// database read and an audit row. After `limit` failures from one address
// within `window`, that address is refused outright (429 with Retry-After,
// no token checked) for `block`, doubling on each further trip up to
// `max_block`; a success from the address forgets its record. Other
// addresses are unaffected. State is in memory only: a restart forgets it.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace converge {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  struct Settings {
    int limit = 20;
    std::chrono::seconds window{60};
    std::chrono::seconds block{30};
    std::chrono::seconds max_block{3600};
  };
  // What Fail() did: tripped is true when this failure started a block.
  struct Trip {
    bool tripped = false;
    int failures = 0;
    std::chrono::seconds block{0};
  };

  AuthThrottle() = default;
  explicit AuthThrottle(const Settings& s) : s_(s) {}

  // Seconds `addr` must still wait (rounded up), or 0 when it may try.
  int64_t RetryAfter(const std::string& addr, Clock::time_point now = Clock::now());
  // Records a failed attempt from `addr`.
  Trip Fail(const std::string& addr, Clock::time_point now = Clock::now());
  // A success: the address starts over.
  void Succeed(const std::string& addr);

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point window_start;
    Clock::time_point blocked_until;
    int trips = 0;  // consecutive blocks: each doubles the next
  };
  // Drops records that no longer matter, so spoofed or many addresses cannot grow the map forever.
  void Prune(Clock::time_point now);

  Settings s_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace converge

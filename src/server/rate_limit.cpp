#include "server/rate_limit.h"

#include <algorithm>

namespace converge {

namespace {
constexpr size_t kMaxEntries = 100000;
}

int64_t AuthThrottle::RetryAfter(const std::string& addr, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(addr);
  if (it == entries_.end() || it->second.blocked_until <= now) return 0;
  auto left = std::chrono::ceil<std::chrono::seconds>(it->second.blocked_until - now);
  return std::max<int64_t>(1, left.count());
}

AuthThrottle::Trip AuthThrottle::Fail(const std::string& addr, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= kMaxEntries && !entries_.count(addr)) Prune(now);
  Entry& e = entries_[addr];
  if (e.failures == 0 || now - e.window_start > s_.window) {
    // A quiet spell as long as the longest block ends the escalation.
    if (e.trips > 0 && now - e.blocked_until > s_.max_block) e.trips = 0;
    e.failures = 0;
    e.window_start = now;
  }
  Trip t;
  t.failures = ++e.failures;
  if (e.failures < s_.limit) return t;
  int shift = std::min(e.trips, 20);
  auto block = std::min<std::chrono::seconds>(s_.block * (int64_t{1} << shift), s_.max_block);
  e.trips++;
  e.failures = 0;
  e.blocked_until = now + block;
  t.tripped = true;
  t.block = block;
  return t;
}

void AuthThrottle::Succeed(const std::string& addr) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(addr);
}

void AuthThrottle::Prune(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    bool blocked = e.blocked_until > now;
    bool counting = e.failures > 0 && now - e.window_start <= s_.window;
    it = blocked || counting ? std::next(it) : entries_.erase(it);
  }
  // Still full of live records: forget the ones not blocked rather than grow.
  if (entries_.size() >= kMaxEntries)
    std::erase_if(entries_, [&](const auto& kv) { return kv.second.blocked_until <= now; });
}

}  // namespace converge

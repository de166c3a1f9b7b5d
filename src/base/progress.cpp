#include "base/progress.h"

#include <unistd.h>

#include <cstdio>

namespace converge {

namespace {
std::atomic<bool> g_quiet{false};
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

void Progress::SetQuiet(bool quiet) { g_quiet = quiet; }

Progress::Progress(std::string label, uint64_t total_items, uint64_t total_bytes, bool enabled)
    : label_(std::move(label)),
      total_items_(total_items),
      total_bytes_(total_bytes),
      enabled_(enabled && !g_quiet && ::isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { Done(); }

void Progress::SetTotals(uint64_t total_items, uint64_t total_bytes) {
  total_items_ = total_items;
  total_bytes_ = total_bytes;
}

void Progress::Add(uint64_t items, uint64_t bytes) {
  items_ += items;
  bytes_ += bytes;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
  if (!lock.owns_lock() || now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw(false);
}

void Progress::Done() {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (done_) return;
  done_ = true;
  Draw(true);
}

void Progress::Draw(bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  uint64_t items = items_, bytes = bytes_, ti = total_items_, tb = total_bytes_;
  std::string line = label_ + ": " + std::to_string(items);
  if (ti) line += "/" + std::to_string(ti);
  line += " objects, " + HumanBytes(bytes);
  if (tb) line += " of " + HumanBytes(tb);
  if (secs > 0.2) line += ", " + HumanBytes(static_cast<uint64_t>(bytes / secs)) + "/s";
  if (ti) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " (%d%%)", static_cast<int>(100.0 * items / ti));
    line += pct;
  }
  std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? ", done.\n" : "");
  std::fflush(stderr);
}

}  // namespace converge

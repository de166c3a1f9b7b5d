#include "server/sweep.h"

#include <string>

#include "net/http_log.h"

namespace converge {

size_t SweepStaleFiles(const ObjectStore& store, int64_t max_age_seconds) {
  size_t removed = store.CleanStaleTemps(max_age_seconds);
  if (removed > 0)
    LogLine(LogLevel::kInfo, "sweep: removed " + std::to_string(removed) +
                                 " stale temp or orphan pack files (last written over " +
                                 std::to_string(max_age_seconds) + " s ago) from " +
                                 store.root().string());
  return removed;
}

}  // namespace converge

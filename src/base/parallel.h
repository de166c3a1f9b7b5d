// ParallelFor: runs fn(i) for i in [0, n) on up to `threads` threads, each
// taking the next index as it frees up (work stealing by an atomic counter).
// The first failing Status stops new work and is returned.
#pragma once

#include <cstddef>
#include <functional>

#include "base/status.h"

namespace converge {

// The number of threads to use for CPU and I/O work: the core count, at least 1.
unsigned WorkerCount();

Status ParallelFor(size_t n, unsigned threads, const std::function<Status(size_t)>& fn);

}  // namespace converge

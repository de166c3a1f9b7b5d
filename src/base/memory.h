// Giving freed heap memory back to the system.
#pragma once

namespace converge {

// Returns the free pages of every malloc arena to the system (glibc's
// malloc_trim). glibc keeps what a thread freed in that thread's arena for
// its next allocations; a server worker that held a pack's bookkeeping (tens
// of MiB at 100,000 objects) would keep it resident while it idles or serves
// small requests. For after such a request; costs a walk of the free lists.
void ReturnFreedMemory();

}  // namespace converge

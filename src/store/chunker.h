// Content-defined chunking (FastCDC with normalized chunking) for large files:
// an edit moves only the chunk boundaries near it, so re-publishing a large
// file sends only the chunks it touched. The gear table and parameters are
// fixed forever: the same bytes always give the same chunks, on every machine,
// because chunk IDs end up in manifests.
#pragma once

#include <cstddef>
#include <cstdint>

namespace converge {

struct ChunkParams {
  // A 512 KiB average (not 1 MiB) so that the chunk an edit lands in, which
  // is on average larger than the mean (size bias), stays under 1 MB to
  // re-send: bench/RESULTS.md measured 1.3 MiB per 1-byte edit with 1 MiB.
  static constexpr size_t kMin = 128 << 10;
  static constexpr size_t kAvg = 512 << 10;
  static constexpr size_t kMax = 2 << 20;
  // Files larger than this are stored as a chunk list of blobs.
  static constexpr uint64_t kThreshold = 4 << 20;
};

// The length of the chunk that starts at data[0]. `data` must hold at least
// ChunkParams::kMax bytes unless it runs to the end of the file.
size_t NextChunkLength(const unsigned char* data, size_t len);

}  // namespace converge

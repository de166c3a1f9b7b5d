// Test support: describing a directory tree for byte-for-byte comparisons,
// damaging a stored object, and waiting out the filesystem's timestamp
// granule so that stat-cache results do not depend on timing.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace converge::testing {

namespace fs = std::filesystem;

// Every path under `root` (but .converge directories) mapped to what it is:
// "dir", "link -> TARGET", or "file x=0|1 " followed by the file's bytes.
// Symlinks are never followed.
std::map<std::string, std::string> DescribeTree(const fs::path& root);

// Flips one bit of the byte at `offset` of a (read-only) file.
void FlipByte(const fs::path& file, size_t offset);

// Waits until a file created in `dir` gets an mtime later than every mtime
// under `dir`, so that files written before are not "racy" for the stat cache.
void WaitForFsClockPast(const fs::path& dir);
// The same with the probe file made in `probe_dir` (say .converge/tmp), so
// that no directory under `dir` changes (nor is racy) for the wait.
void WaitForFsClockPast(const fs::path& dir, const fs::path& probe_dir);

// `n` bytes from a fixed pseudo-random sequence seeded with `seed`.
std::string PseudoRandomBytes(size_t n, uint32_t seed);

}  // namespace converge::testing

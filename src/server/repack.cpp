#include "server/repack.h"

#include "base/text.h"

namespace converge {

Result<RepackStats> RepackDataDir(const fs::path& dir, const RepackOptions& options) {
  std::error_code ec;
  if (!fs::exists(dir / "converge.db", ec))
    return NotFound(Quote(dir.string()) +
                    " is not a converge data dir (it has no converge.db): pass the server's "
                    "--data-dir");
  ASSIGN_OR_RETURN(ObjectStore store, ObjectStore::Open(dir));
  return Repack(store, options);
}

}  // namespace converge

// Contract: a running server sweeps its data dir (server/sweep.h): a temp
// file or an orphan pack that a crashed writer (here, or another node
// sharing the data dir) left over an hour ago is removed while the server
// runs, not only at its next start; a young one, maybe an upload in flight,
// stays; and the sweep stops with the server. The test's server sweeps
// every second (sweep_interval_seconds) instead of every ten minutes, and
// the files are made old by setting their modification time back.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/server.h"

namespace converge::testing {
namespace {

void MakeOld(const fs::path& p) {
  fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::hours(2));
}

TEST(DataDirSweepTest, StaleTempsAndOrphanPacksGoWhileTheServerRuns) {
  ServerOptions options;
  options.config = {{"sweep_interval_seconds", 1}};
  ServerProcess server(std::move(options));
  fs::path tmp = server.data_dir() / "tmp";
  fs::path stale = tmp / "obj-crashed-upload", young = tmp / "obj-upload-in-flight";
  fs::path orphan = server.data_dir() / "packs" / "pack-crashedcommit-1.pack";
  WriteFile(stale, "left by a writer that died");
  WriteFile(young, "being written");
  WriteFile(orphan, "a pack whose index never came");
  MakeOld(stale);
  MakeOld(orphan);

  // A bound for the mechanism, not a timing claim: rounds come every second.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::error_code ec;
  while ((fs::exists(stale, ec) || fs::exists(orphan, ec)) &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(fs::exists(stale, ec)) << server.Log();
  EXPECT_FALSE(fs::exists(orphan, ec)) << server.Log();
  EXPECT_TRUE(fs::exists(young, ec)) << "a young temp may be an upload in flight";
  EXPECT_EQ(Api(server.port()).Get("/healthz").status, 200);
  EXPECT_NE(server.Log().find("sweep: removed"), std::string::npos) << server.Log();

  EXPECT_EQ(server.Stop(), 0) << server.Log();  // the sweep's thread ends with it
  EXPECT_NE(server.Log().find("converge serve stopped"), std::string::npos) << server.Log();
}

}  // namespace
}  // namespace converge::testing

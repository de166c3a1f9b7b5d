// The test harness's own promises (tests/support/process.h): a command that
// hangs fails its test with what it printed instead of hanging the suite, and
// a program that cannot start is an exit code, not a crash of the test.
#include <gtest/gtest.h>

#include "support/process.h"

namespace converge::testing {
namespace {

TEST(HarnessRun, ACommandPastItsTimeoutIsKilledAndSaysSo) {
  RunOptions o;
  o.timeout_seconds = 1;
  RunResult r = ::converge::testing::Run({"/bin/sh", "-c", "echo started; exec sleep 60"}, o);
  EXPECT_EQ(r.exit_code, 128 + 9);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_NE(r.err.find("killed after 1 s"), std::string::npos) << r.err;
}

// Its outputs closed, the command runs on: the timeout still ends it.
TEST(HarnessRun, ACommandThatClosesItsOutputsIsKilledAtItsTimeoutToo) {
  RunOptions o;
  o.timeout_seconds = 1;
  RunResult r =
      ::converge::testing::Run({"/bin/sh", "-c", "echo started; exec sleep 60 >&- 2>&-"}, o);
  EXPECT_EQ(r.exit_code, 128 + 9);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_NE(r.err.find("killed after 1 s"), std::string::npos) << r.err;
}

TEST(HarnessRun, AProgramThatCannotStartIsExit127) {
  RunResult r = ::converge::testing::Run({"/nonexistent/program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("/nonexistent/program"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace converge::testing

#include "support/fake_client.h"

namespace converge::testing {

void FakeServerClientTest::SetUp() {
  fs::create_directories(home_);
  ASSERT_EQ(Run({"init", ws_.string()}, home_).exit_code, 0);
  ASSERT_EQ(Run({"remote", "set", "--url", server_.url(), "--repo", FakeServer::kRepo}).exit_code,
            0);
}

RunResult FakeServerClientTest::Run(const std::vector<std::string>& args, const fs::path& cwd) {
  RunOptions o;
  o.cwd = cwd.empty() ? ws_ : cwd;
  o.env = ClientEnv(home_, server_.url(), "anything");
  return Converge(args, o);
}

}  // namespace converge::testing

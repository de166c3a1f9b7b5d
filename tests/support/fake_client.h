// Test support: a fixture for a converge client whose workspace's remote is a
// FakeServer (fake_server.h). The fake accepts any token; the client sends
// "anything" as CONVERGE_TOKEN, bound to the fake's URL as CONVERGE_URL.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/fake_server.h"
#include "support/process.h"

namespace converge::testing {

class FakeServerClientTest : public ::testing::Test {
 protected:
  // Makes home_, runs `init ws_` and `remote set` to server_'s repo.
  void SetUp() override;
  // `converge ARGS` as the client, in ws_ unless `cwd` is given.
  RunResult Run(const std::vector<std::string>& args, const fs::path& cwd = {});

  TempDir top_;
  fs::path home_ = top_ / "home";
  fs::path ws_ = top_ / "ws";
  FakeServer server_;
};

}  // namespace converge::testing

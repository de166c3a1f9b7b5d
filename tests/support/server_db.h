// A fixture for unit tests of the server's records classes (store/records/):
// a real SQLite file through the server schema, in a fresh temp dir.
#pragma once

#include <gtest/gtest.h>

#include <optional>

#include "store/db.h"
#include "support/process.h"

namespace converge::testing {

class ServerDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Db> db = Db::Open(dir_ / "converge.db", DbRole::kServer);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_.emplace(std::move(*db));
  }

  TempDir dir_;
  std::optional<Db> db_;
};

}  // namespace converge::testing

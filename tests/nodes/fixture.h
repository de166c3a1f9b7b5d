// The fixture of the two-node tests (tests/nodes): two `converge serve`
// nodes acting as one authority (docs/server.md, "Running several nodes") on
// one PostgreSQL database (a fresh schema of the test cluster,
// CONVERGE_TEST_PG) and one data dir, and what the tests ask of them. Every
// test skips, saying so, without CONVERGE_TEST_PG (scripts/test.sh sets it).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support/nodes.h"
#include "support/people.h"
#include "support/server.h"
#include "support/server_db.h"

namespace converge::testing {

using NodesClock = std::chrono::steady_clock;

// How often `needle` occurs in `text`.
size_t CountIn(const std::string& text, const std::string& needle);
// Bytes in the regular files directly under `dir`, counted without throwing
// while they come and go.
uint64_t BytesIn(const fs::path& dir);
// Regular files under `dir`, at any depth.
size_t FilesUnder(const fs::path& dir);
// A field of the publication in `converge publish --json`'s answer ("" when
// there is none).
std::string PublicationField(const nlohmann::json& answer, const char* key);
// "ed25519:..." from a node's start-up line ("" when there is none).
std::string AuditKeyOf(const std::string& log);
// The IDs the publication listing of `repo` names through `port`, all pages.
std::set<std::string> ListedPublications(int port, const std::string& token,
                                         const std::string& repo);

class TwoNodesTest : public ::testing::Test {
 protected:
  // Where a node finds its database: the three ways an operator can say it.
  enum class DbFrom { kFlag, kEnv, kConfigFile };

  void SetUp() override;

  // A node of the shared data dir and database, told where the database is
  // in the way `from` says. Not started.
  std::unique_ptr<ServerNode> NewNode(const std::string& name, DbFrom from,
                                      std::vector<std::string> args = {});
  // Starts node A (--db) and node B (CONVERGE_DB) at once on the empty
  // database, or both from DATA/server.json's "db" when `config` is given
  // (written there first, with "db" added); reads the admin's token.
  void StartBoth(std::vector<std::string> args = {}, nlohmann::json config = nullptr);

  // The admin, logged in to `url`, at a home of their own.
  Person AdminAt(const std::string& url);
  // A user the admin makes through `url`, logged in there.
  Person UserAt(const std::string& url, const std::string& handle);
  // The admin, through `port`: a repo, and a publisher of it in lane default.
  void MakeRepo(int port, const std::string& name);
  void MakePublisher(int port, const std::string& repo, const std::string& handle);
  // A fresh workspace of `p` whose remote is `url`'s `repo`.
  fs::path NewWorkspace(const Person& p, const std::string& name, const std::string& url,
                        const std::string& repo);

  // `serve --fsck` (every object file checked) and `serve --verify-audit` of
  // the shared data dir and database: both clean. `when` names the moment.
  void ExpectDataDirClean(const std::string& when);

  TempDir dir_;
  std::unique_ptr<PgTestSchema> schema_;  // dropped after the nodes are gone
  fs::path data_;
  std::unique_ptr<ServerNode> a_, b_;
  std::string admin_token_;
};

}  // namespace converge::testing

// Test support: a team using one real `converge serve`: the server, its URL,
// its admin (logged in at a home of their own) and the people the admin
// makes with `converge user create`, each with a home and stored login of
// their own. The fixture of the tests that drive the built binary as several
// people (tests/e2e); tests/contract/fixtures.h is its HTTP-level sibling.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/people.h"
#include "support/server.h"

namespace converge::testing {

class TeamTest : public ::testing::Test {
 protected:
  // Starts the server (HTTPS when `options` name a certificate, so url_ is
  // https://...) and, when `login_admin`, logs its admin in. Call from SetUp.
  void StartTeam(ServerOptions options = {}, bool login_admin = true);

  // A person of this server with a home of their own, not logged in.
  Person MakePerson(const std::string& handle, const std::string& token) const;
  // The admin creates the user `handle`; returns them logged in.
  Person NewUser(const std::string& handle) const;
  // The admin creates `repo`, lets `publisher` publish there (in its
  // default lane) and `reader` read it. Fails the test on any refusal
  // (wrap it in ASSERT_NO_FATAL_FAILURE to stop there).
  void CreateRepo(const std::string& repo, const Person& publisher, const Person& reader) const;

  std::unique_ptr<ServerProcess> server_;
  std::string url_;
  Person admin_;
};

}  // namespace converge::testing

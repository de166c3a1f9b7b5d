// Test support: people using converge against a test server, each with a home
// directory (and so a credentials file) of their own, driving the built binary
// exactly as a user would.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.h"

namespace converge::testing {

struct Person {
  std::string handle;
  std::string token;
  std::string url;  // the server they log in to
  std::unique_ptr<TempDir> home = std::make_unique<TempDir>();

  // Options for running converge as this person, in `cwd` (default: home).
  RunOptions Env(const fs::path& cwd = {}) const;
  // `converge login --url URL` with the token on stdin; asserts success.
  void Login() const;
  RunResult Run(const std::vector<std::string>& args, const fs::path& cwd = {}) const;
  // Runs with --json, expects exit 0 and one JSON document (null otherwise).
  nlohmann::json Json(std::vector<std::string> args, const fs::path& cwd = {}) const;
};

// A person of the server at `url`, with a home of their own (not logged in).
Person MakePerson(const std::string& handle, const std::string& token, const std::string& url);
// `admin` creates the user `handle`; returns them logged in with its first token.
Person NewUser(const Person& admin, const std::string& handle);

// Exit 1 and exactly one "error: ..." line on stderr that holds `needle` and
// no bare HTTP status.
void ExpectError(const RunResult& r, const std::string& needle);
// Exit 2, an "error: " line, nothing on stdout.
void ExpectUsageError(const RunResult& r);

}  // namespace converge::testing

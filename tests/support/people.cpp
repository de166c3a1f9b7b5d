#include "support/people.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace converge::testing {

RunOptions Person::Env(const fs::path& cwd) const {
  RunOptions o;
  o.cwd = cwd.empty() ? home->path() : cwd;
  o.env = ClientEnv(home->path());
  return o;
}

void Person::Login() const {
  RunOptions o = Env();
  o.input = token + "\n";
  RunResult r = Converge({"login", "--url", url}, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

RunResult Person::Run(const std::vector<std::string>& args, const fs::path& cwd) const {
  return Converge(args, Env(cwd));
}

nlohmann::json Person::Json(std::vector<std::string> args, const fs::path& cwd) const {
  args.push_back("--json");
  RunResult r = Run(args, cwd);
  EXPECT_EQ(r.exit_code, 0) << handle << ": converge " << args[0] << ": " << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not one JSON document: " << r.out;
  return j.is_discarded() ? nlohmann::json() : j;
}

Person MakePerson(const std::string& handle, const std::string& token, const std::string& url) {
  Person p;
  p.handle = handle;
  p.token = token;
  p.url = url;
  return p;
}

Person NewUser(const Person& admin, const std::string& handle) {
  nlohmann::json made = admin.Json({"user", "create", handle});
  Person p = MakePerson(handle, made.value("token", ""), admin.url);
  p.Login();
  return p;
}

void ExpectError(const RunResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("HTTP"), std::string::npos) << r.err;
}

void ExpectUsageError(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace converge::testing

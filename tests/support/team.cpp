#include "support/team.h"

namespace converge::testing {

void TeamTest::StartTeam(ServerOptions options, bool login_admin) {
  bool tls = options.config.is_object() && options.config.contains("tls_cert_file");
  server_ = std::make_unique<ServerProcess>(std::move(options));
  url_ = std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(server_->port());
  admin_ = MakePerson("admin", server_->admin_token());
  if (login_admin) admin_.Login();
}

Person TeamTest::MakePerson(const std::string& handle, const std::string& token) const {
  return converge::testing::MakePerson(handle, token, url_);
}

Person TeamTest::NewUser(const std::string& handle) const {
  return converge::testing::NewUser(admin_, handle);
}

void TeamTest::CreateRepo(const std::string& repo, const Person& publisher,
                          const Person& reader) const {
  ASSERT_EQ(admin_.Run({"repo", "create", repo}).exit_code, 0);
  ASSERT_EQ(admin_.Run({"repo", "grant", repo, publisher.handle, "--role", "publish"}).exit_code,
            0);
  ASSERT_EQ(admin_.Run({"lane", "add", "default", publisher.handle, "--repo", repo}).exit_code, 0);
  ASSERT_EQ(admin_.Run({"repo", "grant", repo, reader.handle, "--role", "read"}).exit_code, 0);
}

}  // namespace converge::testing

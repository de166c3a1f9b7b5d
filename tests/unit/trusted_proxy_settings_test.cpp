// The trusted_proxies setting (server/config.h) and --trusted-proxy
// (server/serve.h): validated at start with an error naming the entry; the
// flags replace the file's list.
#include <gtest/gtest.h>

#include "server/serve.h"
#include "support/process.h"

namespace converge {
namespace {

using testing::TempDir;

Result<ServerConfig> WithFile(const TempDir& dir, const std::string& json,
                              std::vector<std::string> flags = {}) {
  testing::WriteFile(dir / "server.json", json);
  ServeFlags f;
  f.data_dir = dir.path().string();
  f.trusted_proxies = std::move(flags);
  return BuildServerConfig(f);
}

TEST(TrustedProxySettings, TheFileTakesAListOfAddressesAndNetworks) {
  TempDir dir;
  Result<ServerConfig> c =
      WithFile(dir, R"({"trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "::1"]})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->trusted_proxies.entries().size(), 3u);
  EXPECT_TRUE(c->trusted_proxies.Contains("10.2.3.4"));
  EXPECT_TRUE(c->trusted_proxies.Contains("::1"));
  EXPECT_FALSE(c->trusted_proxies.Contains("127.0.0.2"));
  Result<ServerConfig> none = WithFile(dir, "{}");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->trusted_proxies.empty());
}

TEST(TrustedProxySettings, FlagsReplaceTheFilesList) {
  TempDir dir;
  Result<ServerConfig> c =
      WithFile(dir, R"({"trusted_proxies": ["10.0.0.0/8"]})", {"192.168.1.1", "fd00::/8"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->trusted_proxies.Contains("10.2.3.4"));
  EXPECT_TRUE(c->trusted_proxies.Contains("192.168.1.1"));
  EXPECT_TRUE(c->trusted_proxies.Contains("fd12::1"));
}

TEST(TrustedProxySettings, BadEntriesFailAtStartNamingThem) {
  TempDir dir;
  Result<ServerConfig> file = WithFile(dir, R"({"trusted_proxies": ["10.0.0.1", "10.0.0.1/8"]})");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("server.json"), std::string::npos);
  EXPECT_NE(file.status().message().find("'10.0.0.1/8'"), std::string::npos);
  EXPECT_NE(file.status().message().find("write 10.0.0.0/8"), std::string::npos);

  for (const char* wrong : {R"({"trusted_proxies": "10.0.0.1"})", R"({"trusted_proxies": [1]})",
                            R"({"trusted_proxies": {"a": "10.0.0.1"}})"}) {
    Result<ServerConfig> c = WithFile(dir, wrong);
    ASSERT_FALSE(c.ok()) << wrong;
    EXPECT_NE(c.status().message().find("must be a list of addresses or CIDR networks"),
              std::string::npos)
        << c.status().message();
  }

  Result<ServerConfig> flag = WithFile(dir, "{}", {"lb.example.com"});
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.status().code(), Code::kInvalid);
  EXPECT_NE(flag.status().message().find("--trusted-proxy"), std::string::npos);
  EXPECT_NE(flag.status().message().find("'lb.example.com' is not an IP address"),
            std::string::npos)
      << flag.status().message();
}

}  // namespace
}  // namespace converge

// Server URLs in canonical form: the key a stored login is found by, and what
// CONVERGE_URL is compared with before CONVERGE_TOKEN is sent anywhere.
#include <gtest/gtest.h>

#include "client/credentials.h"

namespace converge {
namespace {

std::string Canonical(const std::string& url) {
  Result<std::string> c = CanonicalServerUrl(url);
  EXPECT_TRUE(c.ok()) << url << ": " << c.status().message();
  return c.ok() ? *c : "";
}

TEST(ServerUrl, OneServerHasOneSpelling) {
  for (const char* same : {"http://example.com:8080", "http://example.com:8080/",
                           "HTTP://Example.COM:8080//", "http://example.com:08080"})
    EXPECT_EQ(Canonical(same), "http://example.com:8080") << same;
  for (const char* same : {"http://example.com", "http://example.com:80", "Http://EXAMPLE.com:80/"})
    EXPECT_EQ(Canonical(same), "http://example.com") << same;
  for (const char* same :
       {"https://example.com", "https://example.com:443/", "HTTPS://example.com"})
    EXPECT_EQ(Canonical(same), "https://example.com") << same;
  EXPECT_EQ(Canonical("https://example.com:80"), "https://example.com:80");
  EXPECT_EQ(Canonical("http://example.com:443"), "http://example.com:443");
  EXPECT_EQ(Canonical("http://[::1]:8080/"), "http://[::1]:8080");
  EXPECT_EQ(Canonical("http://[FE80::1]"), "http://[fe80::1]");
  EXPECT_EQ(Canonical("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
}

TEST(ServerUrl, AnythingButASchemeHostAndPortIsRefused) {
  for (const char* bad :
       {"", "example.com", "ftp://example.com", "http://", "http:///", "http://:8080",
        "http://example.com:", "http://example.com:0", "http://example.com:65536",
        "http://example.com:80a", "http://example.com/prefix", "http://user:pw@example.com",
        "http://example.com?x=1", "http://example.com#top", "http://exa mple.com", "http://[::1",
        "http://[]:80", "http://example.com:1234567"}) {
    Result<std::string> c = CanonicalServerUrl(bad);
    EXPECT_FALSE(c.ok()) << bad << " -> " << (c.ok() ? *c : "");
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), Code::kInvalid);
    }
  }
}

TEST(ServerUrl, NormalizeUrlKeysEverySpellingAlike) {
  EXPECT_EQ(NormalizeUrl("HTTP://Host:80/"), NormalizeUrl("http://host"));
  EXPECT_NE(NormalizeUrl("http://host:8080"), NormalizeUrl("http://host:8081"));
  EXPECT_NE(NormalizeUrl("http://host"), NormalizeUrl("https://host"));
  EXPECT_EQ(NormalizeUrl("not a url//"), "not a url");  // matches only itself
}

}  // namespace
}  // namespace converge

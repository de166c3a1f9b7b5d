// Trusted proxies and the client address picked from X-Forwarded-For
// (net/client_address.h): CIDR parsing, the right-most untrusted entry,
// all-trusted chains, forged left-most entries, IPv6, ports and garbage.
#include "net/client_address.h"

#include <gtest/gtest.h>

namespace converge {
namespace {

TrustedProxies TrustNets(const std::vector<std::string>& entries) {
  Result<TrustedProxies> t = TrustedProxies::Parse(entries);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? *t : TrustedProxies();
}

std::string PickClient(const std::string& peer, const std::vector<std::string>& xff,
                       const std::vector<std::string>& trusted = {"10.0.0.0/8", "fd00::/8"}) {
  return PickClientAddress(peer, xff, TrustNets(trusted));
}

TEST(ClientAddress, ParsesAddressesStrictly) {
  EXPECT_EQ(FormatIpAddress(*ParseIpAddress("192.0.2.1")), "192.0.2.1");
  EXPECT_EQ(FormatIpAddress(*ParseIpAddress("2001:DB8:0::1")), "2001:db8::1");
  EXPECT_EQ(FormatIpAddress(*ParseIpAddress("::ffff:192.0.2.1")), "192.0.2.1");
  EXPECT_TRUE(ParseIpAddress("::ffff:192.0.2.1")->v4);
  for (const char* bad :
       {"", " 192.0.2.1", "192.0.2.1 ", "192.0.2", "192.0.2.256", "01.2.3.4", "192.0.2.1:80",
        "[::1]", "fe80::1%eth0", "localhost", "1.2.3.4/32", "::1::2", "unknown"})
    EXPECT_FALSE(ParseIpAddress(bad).has_value()) << bad;
}

TEST(ClientAddress, ParsesForwardedEntriesWithPortsAndSpace) {
  EXPECT_EQ(FormatIpAddress(*ParseForwardedEntry(" \t192.0.2.1 ")), "192.0.2.1");
  EXPECT_EQ(FormatIpAddress(*ParseForwardedEntry("192.0.2.1:4711")), "192.0.2.1");
  EXPECT_EQ(FormatIpAddress(*ParseForwardedEntry("2001:db8::1")), "2001:db8::1");
  EXPECT_EQ(FormatIpAddress(*ParseForwardedEntry("[2001:db8::1]")), "2001:db8::1");
  EXPECT_EQ(FormatIpAddress(*ParseForwardedEntry("[2001:db8::1]:443")), "2001:db8::1");
  EXPECT_EQ(FormatIpAddress(*ParseForwardedEntry("[::ffff:192.0.2.1]:1")), "192.0.2.1");
  for (const char* bad : {"", "  ", "unknown", "_hidden", "192.0.2.1:", "192.0.2.1:65536",
                          "192.0.2.1:x", "192.0.2.1:80:80", "[192.0.2.1]", "[2001:db8::1",
                          "[2001:db8::1]443", "[2001:db8::1]:", "2001:db8::1%eth0", "\"192.0.2.1\"",
                          "192.0.2.1 192.0.2.2", "for=192.0.2.1"})
    EXPECT_FALSE(ParseForwardedEntry(bad).has_value()) << bad;
}

TEST(ClientAddress, TrustedProxiesMatchAddressesAndNetworks) {
  TrustedProxies t = TrustNets({"127.0.0.1", "10.0.0.0/8", "192.168.4.0/22", "fd00::/8", "::1"});
  EXPECT_TRUE(t.Contains("127.0.0.1"));
  EXPECT_FALSE(t.Contains("127.0.0.2"));
  EXPECT_TRUE(t.Contains("10.255.0.1"));
  EXPECT_FALSE(t.Contains("11.0.0.1"));
  EXPECT_TRUE(t.Contains("192.168.7.255"));
  EXPECT_FALSE(t.Contains("192.168.8.0"));
  EXPECT_TRUE(t.Contains("fdab::1"));
  EXPECT_FALSE(t.Contains("fe00::1"));
  EXPECT_TRUE(t.Contains("::1"));
  EXPECT_TRUE(t.Contains("::ffff:10.1.2.3"));  // a dual-stack socket's IPv4 peer
  EXPECT_FALSE(t.Contains("::a01:203"));       // IPv4-compatible is not IPv4
  EXPECT_FALSE(t.Contains("garbage"));
  EXPECT_TRUE(TrustNets({"0.0.0.0/0"}).Contains("203.0.113.9"));
  EXPECT_FALSE(TrustNets({"0.0.0.0/0"}).Contains("2001:db8::1"));
  EXPECT_TRUE(TrustNets({"::/0"}).Contains("2001:db8::1"));
  EXPECT_TRUE(TrustNets({}).empty());
}

// A network wider than a /8 of its family is no operator's proxies: the
// server warns about it at start.
TEST(ClientAddress, TrustedNetworksWiderThanASlash8AreNamed) {
  TrustedProxies t = TrustNets({"10.0.0.0/8", "0.0.0.0/0", "fd00::/8", "::/0", "128.0.0.0/1",
                                "127.0.0.1", "::1", "2000::/3"});
  EXPECT_EQ(t.TooBroad(),
            (std::vector<std::string>{"0.0.0.0/0", "::/0", "128.0.0.0/1", "2000::/3"}));
  EXPECT_TRUE(TrustNets({"10.0.0.0/8", "203.0.113.7", "2001:db8::/32"}).TooBroad().empty());
}

TEST(ClientAddress, BadTrustedProxiesAreRefusedNamingTheEntry) {
  struct Case {
    const char* entry;
    const char* says;
  };
  for (Case c : {Case{"proxy.example", "is not an IP address"},
                 Case{"10.0.0.0/33", "prefix length that is not 0 to 32"},
                 Case{"fd00::/129", "prefix length that is not 0 to 128"},
                 Case{"10.0.0.0/", "prefix length"}, Case{"10.0.0.0/-1", "prefix length"},
                 Case{"10.0.0.0/8x", "prefix length"},
                 Case{"10.0.0.1/8", "bits set past its /8 prefix: write 10.0.0.0/8"},
                 Case{"fd00::1/8", "write fd00::/8"}, Case{"", "is not an IP address"},
                 Case{" 10.0.0.1", "is not an IP address"}}) {
    Result<TrustedProxies> t = TrustedProxies::Parse({"127.0.0.1", c.entry});
    ASSERT_FALSE(t.ok()) << c.entry;
    EXPECT_EQ(t.status().code(), Code::kInvalid);
    EXPECT_NE(t.status().message().find("'" + std::string(c.entry) + "'"), std::string::npos)
        << t.status().message();
    EXPECT_NE(t.status().message().find(c.says), std::string::npos) << t.status().message();
  }
}

TEST(ClientAddress, AnUntrustedPeerIsTheClientWhateverItSays) {
  EXPECT_EQ(PickClient("203.0.113.7", {"198.51.100.1"}), "203.0.113.7");
  EXPECT_EQ(PickClient("203.0.113.7", {}), "203.0.113.7");
  // No trusted proxies at all: the header is never read.
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1"}, {}), "10.0.0.1");
}

TEST(ClientAddress, ARightMostUntrustedEntryIsTheClient) {
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1"}), "198.51.100.1");
  // A chain of trusted proxies is walked past.
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1, 10.0.0.9, 10.0.0.8"}), "198.51.100.1");
  // Several header lines are one list, in order.
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1", "10.0.0.9"}), "198.51.100.1");
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1,10.0.0.9", " 198.51.100.2 ,\t10.0.0.8"}),
            "198.51.100.2");
}

TEST(ClientAddress, SpoofedLeftMostEntriesAreNeverLookedAt) {
  // The client sent "1.2.3.4, 10.0.0.5" itself; the proxy appended its peer.
  EXPECT_EQ(PickClient("10.0.0.1", {"1.2.3.4, 10.0.0.5, 198.51.100.1"}), "198.51.100.1");
  EXPECT_EQ(PickClient("10.0.0.1", {"garbage, ::1, 198.51.100.1"}), "198.51.100.1");
  EXPECT_EQ(PickClient("10.0.0.1", {"1.2.3.4", "198.51.100.1"}), "198.51.100.1");
}

TEST(ClientAddress, AnAllTrustedChainIsItsFarthestHop) {
  EXPECT_EQ(PickClient("10.0.0.1", {"10.0.0.3, 10.0.0.2"}), "10.0.0.3");
  EXPECT_EQ(PickClient("10.0.0.1", {}), "10.0.0.1");
  EXPECT_EQ(PickClient("::ffff:10.0.0.1", {}), "10.0.0.1");
}

TEST(ClientAddress, GarbageEndsTheWalkAtTheHopThatWroteIt) {
  EXPECT_EQ(PickClient("10.0.0.1", {"unknown"}), "10.0.0.1");
  EXPECT_EQ(PickClient("10.0.0.1", {""}), "10.0.0.1");
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1, 10.0.0.2,"}), "10.0.0.1");
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1, _obfuscated, 10.0.0.2"}), "10.0.0.2");
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1, 10.0.0.2 10.0.0.3"}), "10.0.0.1");
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1\r\n, 10.0.0.2"}), "10.0.0.2");
  EXPECT_EQ(PickClient("10.0.0.1", {std::string(100000, ',')}), "10.0.0.1");
}

TEST(ClientAddress, IPv6AndPorts) {
  EXPECT_EQ(PickClient("fd00::1", {"[2001:db8::7]:51234"}), "2001:db8::7");
  EXPECT_EQ(PickClient("fd00::1", {"2001:DB8::7, fd00::2"}), "2001:db8::7");
  EXPECT_EQ(PickClient("10.0.0.1", {"198.51.100.1:443, [fd00::2]:80"}), "198.51.100.1");
  EXPECT_EQ(PickClient("::ffff:10.0.0.1", {"::ffff:198.51.100.1"}), "198.51.100.1");
  EXPECT_EQ(PickClient("fd00::1", {"fe80::1%eth0"}), "fd00::1");
}

// X-Forwarded-Proto counts only from a trusted peer, and then only its
// right-most entry (what the nearest proxy wrote) saying https.
TEST(ClientAddress, ForwardedHttpsOnlyFromATrustedPeer) {
  TrustedProxies trusted = TrustNets({"10.0.0.0/8"});
  EXPECT_TRUE(ForwardedHttps("10.1.2.3", {"https"}, trusted));
  EXPECT_TRUE(ForwardedHttps("10.1.2.3", {" HTTPS\t"}, trusted));
  EXPECT_TRUE(ForwardedHttps("10.1.2.3", {"http, https"}, trusted));
  EXPECT_TRUE(ForwardedHttps("10.1.2.3", {"http", "https"}, trusted));
  EXPECT_FALSE(ForwardedHttps("10.1.2.3", {"https, http"}, trusted));
  EXPECT_FALSE(ForwardedHttps("10.1.2.3", {"http"}, trusted));
  EXPECT_FALSE(ForwardedHttps("10.1.2.3", {"httpsx"}, trusted));
  EXPECT_FALSE(ForwardedHttps("10.1.2.3", {""}, trusted));
  EXPECT_FALSE(ForwardedHttps("10.1.2.3", {}, trusted));
  EXPECT_FALSE(ForwardedHttps("192.0.2.1", {"https"}, trusted));
  EXPECT_FALSE(ForwardedHttps("10.1.2.3", {"https"}, TrustedProxies()));
}

}  // namespace
}  // namespace converge

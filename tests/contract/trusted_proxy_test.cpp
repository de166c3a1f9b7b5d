// Contract: with trusted_proxies set, a request from a trusted peer is
// seen as coming from the client its X-Forwarded-For names (the right-most
// untrusted entry): the access log, the audit's remote_addr and the bad-token
// backoff all use it. From any other peer the header changes nothing. Here the
// "proxy" is a raw connection from 127.0.0.5; nginx_proxy_test.cpp runs the
// same through a real nginx.
#include <sys/socket.h>

#include "fixtures.h"
#include "support/nginx.h"

namespace converge::testing {
namespace {

constexpr int kProxyTestLimit = 3;
constexpr const char* kProxy = "127.0.0.5";

class TrustedProxyTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.config = {{"trusted_proxies", {kProxy, "fd00::/8"}},
                      {"auth_fail_limit", kProxyTestLimit},
                      {"auth_block_seconds", 600},
                      {"auth_block_max_seconds", 600}};
    server_ = std::make_unique<ServerProcess>(options);
  }

  // GET /v1/whoami from `source` with `token` and X-Forwarded-For lines; the status.
  static int WhoamiFrom(const std::string& source, const std::string& token,
                        const std::vector<std::string>& forwarded_for = {}) {
    std::string lines;
    for (const std::string& line : forwarded_for) lines += "X-Forwarded-For: " + line + "\r\n";
    return WhoamiStatusFrom(source, server().port(), token, lines);
  }
};

TEST_F(TrustedProxyTest, ATrustedProxyNamesTheClientForTheAuditAndTheLog) {
  EXPECT_EQ(WhoamiFrom(kProxy, UnknownToken(1), {"203.0.113.50, 198.51.100.10"}), 401);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "198.51.100.10"), 1);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "203.0.113.50"), 0);  // left of the client: never read
  EXPECT_EQ(AuditRowsFrom("auth.fail", kProxy), 0);
  EXPECT_NE(server().Log().find("access 198.51.100.10 GET /v1/whoami 401"), std::string::npos)
      << server().Log();
  EXPECT_NE(server().Log().find("X-Forwarded-For of requests from the trusted proxies 127.0.0.5, "
                                "fd00::/8"),
            std::string::npos);
  EXPECT_EQ(server().Log().find("warning: trusted proxy"), std::string::npos);

  // An authenticated caller's actions carry the client's address too.
  std::string token = NewUser("viaproxy");
  EXPECT_EQ(WhoamiFrom(kProxy, token, {"[2001:db8::77]:443"}), 200);
  RawConnection conn(server().port(), kProxy);
  std::string body = R"({"label":"from-behind-a-proxy"})";
  conn.Send("POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
            "\r\nX-Forwarded-For: 2001:db8::77\r\nContent-Type: application/json\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  EXPECT_EQ(conn.ReadAll().rfind("HTTP/1.1 201", 0), 0u);
  EXPECT_EQ(AuditRowsFrom("token.create", "2001:db8::77"), 1);
}

TEST_F(TrustedProxyTest, AForgedHeaderFromAnUntrustedPeerChangesNothing) {
  EXPECT_EQ(WhoamiFrom("127.0.0.6", UnknownToken(2), {"198.51.100.66"}), 401);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "127.0.0.6"), 1);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "198.51.100.66"), 0);
}

TEST_F(TrustedProxyTest, TheBackoffCountsEachClientBehindTheProxy) {
  const std::string kGuesser = "198.51.100.20", kOther = "198.51.100.21";
  std::string good = NewUser("behind");
  for (int i = 0; i < kProxyTestLimit; i++)
    EXPECT_EQ(WhoamiFrom(kProxy, UnknownToken(10 + i), {kGuesser}), 401) << i;
  EXPECT_EQ(WhoamiFrom(kProxy, good, {kGuesser}), 429);
  EXPECT_EQ(AuditRowsFrom("auth.throttle", kGuesser), 1);
  // Another client behind the same proxy, and the proxy's own requests, go on.
  EXPECT_EQ(WhoamiFrom(kProxy, good, {kOther}), 200);
  EXPECT_EQ(WhoamiFrom(kProxy, good), 200);
  // A forged left-most entry does not let the guesser out of its block.
  EXPECT_EQ(WhoamiFrom(kProxy, good, {kOther + ", " + kGuesser}), 429);
  // Nor does a forged header sent directly: the guesser's block is not the peer's.
  EXPECT_EQ(WhoamiFrom("127.0.0.7", good, {kGuesser}), 200);
}

// One whole answer from `fd` (headers, then Content-Length bytes), leaving
// the connection open for the next request.
std::string ReadOneAnswer(int fd) {
  std::string in;
  char buf[4096];
  for (;;) {
    size_t head_end = in.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      size_t at = in.find("Content-Length: ");
      size_t length = at < head_end ? std::stoul(in.substr(at + 16)) : 0;
      if (in.size() >= head_end + 4 + length) return in;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return in;
    in.append(buf, static_cast<size_t>(n));
  }
}

TEST_F(TrustedProxyTest, EachRequestOnAKeptAliveConnectionNamesItsOwnClient) {
  // A proxy reuses its connections to the server for many clients.
  RawConnection conn(server().port(), kProxy);
  for (const char* client : {"198.51.100.31", "198.51.100.32"}) {
    conn.Send("GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + UnknownToken(30) +
              "\r\nX-Forwarded-For: " + client + "\r\n\r\n");
    EXPECT_EQ(StatusOf(ReadOneAnswer(conn.fd())), 401) << client;
  }
  EXPECT_EQ(AuditRowsFrom("auth.fail", "198.51.100.31"), 1);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "198.51.100.32"), 1);
}

TEST_F(TrustedProxyTest, GarbageFromTheProxyIsBlamedOnTheProxy) {
  EXPECT_EQ(WhoamiFrom(kProxy, UnknownToken(20), {"unknown"}), 401);
  EXPECT_EQ(AuditRowsFrom("auth.fail", kProxy), 1);
}

// 0.0.0.0/0 (or anything wider than a /8) trusts every client to name
// itself: a mistake worth a warning at start.
TEST(TrustedProxyStartTest, ANetworkWiderThanASlash8IsWarnedAbout) {
  ServerOptions options;
  options.args = {"--trusted-proxy", "0.0.0.0/0", "--trusted-proxy", "10.0.0.0/8"};
  ServerProcess server(options);
  EXPECT_NE(server.Log().find("warning: trusted proxy 0.0.0.0/0 is wider than a /8"),
            std::string::npos)
      << server.Log();
  EXPECT_EQ(server.Log().find("warning: trusted proxy 10.0.0.0/8"), std::string::npos);
}

}  // namespace
}  // namespace converge::testing

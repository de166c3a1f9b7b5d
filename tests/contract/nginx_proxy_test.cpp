// Contract: behind a real nginx (tests/support/nginx.h: Debian's nginx-light,
// X-Forwarded-For appended, request bodies streamed) with the proxy trusted
// (`--trusted-proxy 127.0.0.1`), the audit log, the access log and the
// bad-token backoff see each client's own address: a client at 127.0.0.2
// that keeps sending bad tokens is throttled while one at 127.0.0.3 behind
// the same nginx is not. A forged left-most X-Forwarded-For sent through
// nginx, and a forged header sent straight to the server, change nothing.
#include "fixtures.h"
#include "support/nginx.h"

namespace converge::testing {
namespace {

constexpr int kNginxFailLimit = 3;

class NginxProxyTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.args = {"--trusted-proxy", "127.0.0.1"};
    options.config = {{"auth_fail_limit", kNginxFailLimit},
                      {"auth_block_seconds", 600},
                      {"auth_block_max_seconds", 600}};
    server_ = std::make_unique<ServerProcess>(options);
    nginx_ = std::make_unique<NginxProxy>(std::vector<int>{server_->port()});
  }
  static void TearDownTestSuite() {
    nginx_.reset();
    server_.reset();
  }

  static int ViaNginx(const std::string& source, const std::string& token,
                      const std::string& extra_headers = "") {
    return WhoamiStatusFrom(source, nginx_->port(), token, extra_headers);
  }

  static std::unique_ptr<NginxProxy> nginx_;
};

std::unique_ptr<NginxProxy> NginxProxyTest::nginx_;

TEST_F(NginxProxyTest, TheAuditAndTheBackoffSeeEachClientThroughNginx) {
  std::string good = NewUser("nginx");
  for (int i = 0; i < kNginxFailLimit; i++)
    EXPECT_EQ(ViaNginx("127.0.0.2", UnknownToken(i)), 401) << i << "\n" << nginx_->ErrorLog();
  // 127.0.0.2 is now refused, even with a valid token; 127.0.0.3, behind
  // the same nginx (the same TCP peer to the server), is not.
  EXPECT_EQ(ViaNginx("127.0.0.2", good), 429);
  EXPECT_EQ(ViaNginx("127.0.0.3", good), 200);
  EXPECT_EQ(ViaNginx("127.0.0.3", UnknownToken(50)), 401);

  EXPECT_EQ(AuditRowsFrom("auth.fail", "127.0.0.2"), kNginxFailLimit);
  EXPECT_EQ(AuditRowsFrom("auth.throttle", "127.0.0.2"), 1);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "127.0.0.3"), 1);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "127.0.0.1"), 0);
  EXPECT_EQ(AuditRowsFrom("auth.throttle", "127.0.0.1"), 0);
  std::string log = server().Log();
  EXPECT_NE(log.find("access 127.0.0.2 GET /v1/whoami 429"), std::string::npos) << log;
  EXPECT_NE(log.find("access 127.0.0.3 GET /v1/whoami 200"), std::string::npos) << log;
}

TEST_F(NginxProxyTest, AForgedLeftMostEntryThroughNginxIsIgnored) {
  // nginx appends the real peer: "198.51.100.9, 127.0.0.4" reaches the server.
  EXPECT_EQ(ViaNginx("127.0.0.4", UnknownToken(60), "X-Forwarded-For: 198.51.100.9\r\n"), 401);
  EXPECT_EQ(ViaNginx("127.0.0.4", UnknownToken(61), "X-Forwarded-For: 127.0.0.1\r\n"), 401);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "127.0.0.4"), 2);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "198.51.100.9"), 0);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "127.0.0.1"), 0);
}

// nginx sets X-Forwarded-Proto to its own scheme (plain HTTP here): a client
// claiming HTTPS through it does not get a Secure cookie it could not keep.
TEST_F(NginxProxyTest, AForgedForwardedProtoThroughNginxIsReplaced) {
  std::string answer = RequestFromAddress(
      "127.0.0.8", nginx_->port(),
      "GET /signin HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(StatusOf(answer), 200) << answer;
  size_t cookie = answer.find("Set-Cookie: converge_signin=");
  ASSERT_NE(cookie, std::string::npos) << answer;
  std::string line = answer.substr(cookie, answer.find("\r\n", cookie) - cookie);
  EXPECT_EQ(line.find("Secure"), std::string::npos) << line;
}

TEST_F(NginxProxyTest, AForgedHeaderSentStraightToTheServerChangesNothing) {
  std::string good = NewUser("direct");
  EXPECT_EQ(WhoamiStatusFrom("127.0.0.6", server().port(), UnknownToken(70),
                             "X-Forwarded-For: 198.51.100.8\r\n"),
            401);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "127.0.0.6"), 1);
  EXPECT_EQ(AuditRowsFrom("auth.fail", "198.51.100.8"), 0);
  // Naming the throttled client does not block the sender either.
  EXPECT_EQ(WhoamiStatusFrom("127.0.0.6", server().port(), good, "X-Forwarded-For: 127.0.0.2\r\n"),
            200);
}

TEST_F(NginxProxyTest, BodiesStreamThroughNginxBothWays) {
  std::string owner = NewUser("streamer");
  std::string repo = NewRepo(owner);
  std::string bytes(3 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); i++) bytes[i] = static_cast<char>((i * 131) >> 7);
  TestObject blob = Blob(bytes);
  Api via_nginx(nginx_->port(), owner);
  Reply put = via_nginx.PutBytes(blob.Path(repo), blob.bytes);
  EXPECT_TRUE(put.status == 201 || put.status == 200) << put.body << nginx_->ErrorLog();
  Reply get = via_nginx.Get(blob.Path(repo));
  EXPECT_EQ(get.status, 200) << nginx_->ErrorLog();
  EXPECT_TRUE(get.body == bytes) << get.body.size() << " bytes came back";
}

}  // namespace
}  // namespace converge::testing

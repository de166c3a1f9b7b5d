// Contract: repeated bad tokens from one address are refused with 429 and
// Retry-After, without a token check, for a growing time; other addresses
// are unaffected; the audit log gets one row per block, not one per refusal.
// Requests without a token count the same, and are not audited one by one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "fixtures.h"
#include "net/api_client.h"

namespace converge::testing {
namespace {

constexpr int kLimit = 3;

class BackoffTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.config = {{"auth_fail_limit", kLimit},
                      {"auth_fail_window_seconds", 60},
                      {"auth_block_seconds", 1},
                      {"auth_block_max_seconds", 60}};
    server_ = std::make_unique<ServerProcess>(options);
  }
};

struct RawReply {
  int status = -1;
  std::string retry_after, text;
};

// GET `path` with `header_lines` ("Name: value\r\n" each, or "") from the
// loopback address `from` (all of 127/8 is this machine, so a second "client
// address" needs no network).
RawReply GetWithHeaders(const char* from, int port, const std::string& path,
                        const std::string& header_lines) {
  RawReply out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{}, remote{};
  local.sin_family = remote.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &local.sin_addr);
  remote.sin_port = htons(static_cast<uint16_t>(port));
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return out;
  }
  std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + header_lines + "Connection: close\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.text.append(buf, n);
  ::close(fd);
  if (out.text.rfind("HTTP/1.1 ", 0) == 0) out.status = std::atoi(out.text.c_str() + 9);
  size_t at = out.text.find("Retry-After: ");
  if (at != std::string::npos)
    out.retry_after = out.text.substr(at + 13, out.text.find("\r\n", at) - at - 13);
  return out;
}

RawReply GetFrom(const char* from, int port, const std::string& path, const std::string& token) {
  return GetWithHeaders(from, port, path, "Authorization: Bearer " + token + "\r\n");
}

std::string BadToken(int i) {
  char id[17];
  std::snprintf(id, sizeof id, "%016x", i);
  return std::string("cvg_") + id + "_" + std::string(64, 'a');
}

int CountAudit(Api admin, const std::string& action, const std::string& remote) {
  Reply page = admin.Get("/v1/audit?limit=1000");
  int n = 0;
  for (const auto& e : page.json()["entries"])
    if (e["action"] == action && e["remote_addr"] == remote) n++;
  return n;
}

TEST_F(BackoffTest, BadTokensFromOneAddressAreSlowedDown) {
  const char* kBad = "127.0.0.2";
  std::string good = NewUser("good");
  int port = server().port();
  for (int i = 0; i < kLimit; i++)
    EXPECT_EQ(GetFrom(kBad, port, "/v1/whoami", BadToken(i)).status, 401) << i;

  // The address is now refused, even with a valid token, without a check.
  RawReply refused = GetFrom(kBad, port, "/v1/whoami", BadToken(99));
  EXPECT_EQ(refused.status, 429) << refused.text;
  EXPECT_EQ(refused.retry_after, "1") << refused.text;
  EXPECT_NE(refused.text.find("\"rate_limited\""), std::string::npos) << refused.text;
  EXPECT_NE(refused.text.find("too many failed token attempts"), std::string::npos);
  EXPECT_EQ(GetFrom(kBad, port, "/v1/whoami", good).status, 429);

  // Another address, the same user's token and bad ones alike, is unaffected.
  EXPECT_EQ(GetFrom("127.0.0.3", port, "/v1/whoami", good).status, 200);
  EXPECT_EQ(As(good).Get("/v1/whoami").status, 200);
  EXPECT_EQ(GetFrom("127.0.0.3", port, "/v1/whoami", BadToken(7)).status, 401);
  EXPECT_EQ(Anonymous().Get("/healthz").status, 200);

  // One audit row for the block; the refused requests add none, the failed
  // checks before it one each.
  EXPECT_EQ(CountAudit(Admin(), "auth.throttle", kBad), 1);
  EXPECT_EQ(CountAudit(Admin(), "auth.fail", kBad), kLimit);

  // After the block, failures trip it again, for twice as long.
  RawReply after;
  for (int tries = 0; tries < 100; tries++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = GetFrom(kBad, port, "/v1/whoami", BadToken(0));
    if (after.status != 429) break;
  }
  EXPECT_EQ(after.status, 401) << after.text;
  for (int i = 1; i < kLimit; i++) GetFrom(kBad, port, "/v1/whoami", BadToken(i));
  RawReply again = GetFrom(kBad, port, "/v1/whoami", good);
  EXPECT_EQ(again.status, 429);
  EXPECT_EQ(again.retry_after, "2") << again.text;
  EXPECT_EQ(CountAudit(Admin(), "auth.throttle", kBad), 2);
}

// The client library names the refusal (converge prints it as it is, with the
// server's "try again in N s"), rather than taking the 429 for a server bug.
TEST_F(BackoffTest, ClientsSeeRateLimitedNotAnInternalError) {
  std::string url = "http://127.0.0.1:" + std::to_string(server().port());
  for (int i = 0; i < kLimit; i++) {
    auto http = HttpClient::Connect(url, HttpOptions{BadToken(100 + i), "", 10, 30});
    ASSERT_TRUE(http.ok());
    EXPECT_EQ(ApiClient(std::move(*http)).Whoami().status().code(), Code::kUnauthenticated);
  }
  auto http = HttpClient::Connect(url, HttpOptions{BadToken(200), "", 10, 30});
  ASSERT_TRUE(http.ok());
  Status refused = ApiClient(std::move(*http)).Whoami().status();
  EXPECT_EQ(refused.code(), Code::kRateLimited) << refused.message();
  EXPECT_NE(refused.message().find("too many failed token attempts"), std::string::npos)
      << refused.message();
  // The block is on this machine's own address: wait it out for the tests after.
  for (int tries = 0; tries < 100 && Admin().Get("/v1/whoami").status == 429; tries++)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

TEST_F(BackoffTest, ASuccessForgetsEarlierFailures) {
  const char* kAddr = "127.0.0.4";
  std::string good = NewUser("forgetful");
  int port = server().port();
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < kLimit - 1; i++)
      EXPECT_EQ(GetFrom(kAddr, port, "/v1/whoami", BadToken(i)).status, 401);
    EXPECT_EQ(GetFrom(kAddr, port, "/v1/whoami", good).status, 200) << round;
  }
  EXPECT_EQ(CountAudit(Admin(), "auth.throttle", kAddr), 0);
}

// Issue 11, item 2: requests with no token at all (no header, an empty one,
// one that holds no converge token) used to get 401 forever, each with a
// signed, fsync'd audit row. Now they count towards the address's backoff
// like bad tokens, and only the block is audited.
TEST_F(BackoffTest, RequestsWithoutATokenAreThrottledNotAuditedOneByOne) {
  const char* kAddr = "127.0.0.5";
  int port = server().port();
  const std::vector<std::string> kNoToken = {
      "",                                       // no Authorization header
      "Authorization: \r\n",                    // an empty one
      "Authorization: Basic Zm9vOmJhcg==\r\n",  // not a bearer token
      "Authorization: Bearer not-a-converge-token\r\n",
  };
  constexpr int kRequests = 8 * kLimit;
  int unauthenticated = 0, throttled = 0;
  std::string retry_after;
  for (int i = 0; i < kRequests; i++) {
    RawReply r = GetWithHeaders(kAddr, port, "/v1/whoami", kNoToken[i % kNoToken.size()]);
    ASSERT_TRUE(r.status == 401 || r.status == 429) << i << ": " << r.text;
    if (r.status == 401) unauthenticated++;
    if (r.status == 429) {
      throttled++;
      if (retry_after.empty()) retry_after = r.retry_after;
      EXPECT_NE(r.text.find("\"rate_limited\""), std::string::npos) << r.text;
    }
  }
  // The first kLimit are refused one by one; then the address waits.
  EXPECT_GE(unauthenticated, kLimit);
  EXPECT_GT(throttled, 0) << "never answered 429";
  EXPECT_FALSE(retry_after.empty()) << "a 429 without Retry-After";
  // No row per refusal: one per block, and a block needs kLimit failures.
  EXPECT_EQ(CountAudit(Admin(), "auth.fail", kAddr), 0);
  int blocks = CountAudit(Admin(), "auth.throttle", kAddr);
  EXPECT_GE(blocks, 1);
  EXPECT_LE(blocks, kRequests / kLimit);
}

// A client without a token and nothing else: 401, then 429, never a row each.
TEST_F(BackoffTest, NoAuthorizationHeaderAtAllIsThrottledToo) {
  const char* kAddr = "127.0.0.6";
  int port = server().port();
  bool throttled = false;
  for (int i = 0; i < 4 * kLimit && !throttled; i++)
    throttled = GetWithHeaders(kAddr, port, "/v1/whoami", "").status == 429;
  EXPECT_TRUE(throttled);
  EXPECT_EQ(CountAudit(Admin(), "auth.fail", kAddr), 0);
  // One block (two, should the machine be so slow that the first ran out).
  int blocks = CountAudit(Admin(), "auth.throttle", kAddr);
  EXPECT_GE(blocks, 1);
  EXPECT_LE(blocks, 4);
}

}  // namespace
}  // namespace converge::testing

// Contract: where a request ends is never ambiguous. Conflicting or invalid
// framing headers, bad line endings and malformed chunked bodies are 400 and
// end the connection (nothing of them is run as a further request); a body
// without a declared length is empty; a GET's body is not taken for the next
// request; Range is ignored (200, the whole object). Over raw sockets.
#include "fixtures.h"

namespace converge::testing {
namespace {

class FramingTest : public ContractTest {
 protected:
  void SetUp() override { admin_ = server().admin_token(); }

  // The status of every answer in `raw`, in order.
  static std::vector<int> Statuses(const std::string& raw) {
    std::vector<int> out;
    for (size_t at = raw.find("HTTP/1.1 "); at != std::string::npos;
         at = raw.find("\nHTTP/1.1 ", at + 1)) {
      if (raw[at] == '\n') at++;
      out.push_back(std::atoi(raw.c_str() + at + 9));
    }
    return out;
  }
  // Sends `raw` on a new connection and reads until the server closes it.
  std::string Exchange(const std::string& raw) {
    return RawRequest(server().port(), raw, /*shutdown_write=*/false);
  }
  // A repo-creating POST whose framing headers are `framing`, then `body`.
  std::string CreateRepo(const std::string& framing, const std::string& body) {
    return "POST /v1/repos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
           "\r\nContent-Type: application/json\r\n" + framing + "\r\n" + body;
  }
  bool RepoExists(const std::string& name) {
    return Admin().Get("/v1/repos/" + name).status == 200;
  }
  // Expects one 400 naming `what`, and the connection closed after it.
  static void ExpectRefused(const std::string& answer, const std::string& what) {
    EXPECT_EQ(Statuses(answer), std::vector<int>{400}) << answer;
    EXPECT_NE(answer.find("\"invalid\""), std::string::npos) << answer;
    EXPECT_NE(answer.find(what), std::string::npos) << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  }

  std::string admin_;
};

const char kSmuggled[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

TEST_F(FramingTest, TwoContentLengthsAre400) {
  std::string name = Unique("framing");
  std::string body = "{\"name\": \"" + name + "\"}";
  size_t whole = body.size() + std::strlen(kSmuggled);
  // The first length covers the JSON, the second also the request after it.
  std::string answer = Exchange(CreateRepo("Content-Length: " + std::to_string(body.size()) +
                                               "\r\nContent-Length: " + std::to_string(whole) +
                                               "\r\n",
                                           body + kSmuggled));
  ExpectRefused(answer, "more than one Content-Length");
  EXPECT_FALSE(RepoExists(name));
  // Equal ones too: a proxy might join them into "5, 5".
  std::string same = std::to_string(body.size());
  answer = Exchange(CreateRepo("Content-Length: " + same + "\r\nContent-Length: " + same + "\r\n",
                               body));
  ExpectRefused(answer, "more than one Content-Length");
  EXPECT_FALSE(RepoExists(name));
}

TEST_F(FramingTest, TransferEncodingOtherThanChunkedAlone) {
  std::string name = Unique("framing");
  std::string body = "{\"name\": \"" + name + "\"}";
  std::string length = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  std::string chunked = "5\r\n{\"nam\r\n0\r\n\r\n";
  struct Case {
    std::string framing, body, what;
  } cases[] = {
      {"Transfer-Encoding: chunked, identity\r\n" + length, body, "Transfer-Encoding"},
      {"Transfer-Encoding: identity\r\n" + length, body, "Transfer-Encoding"},
      {"Transfer-Encoding: gzip\r\n" + length, body, "Transfer-Encoding"},
      {"Transfer-Encoding: chunked\r\n" + length, chunked, "both Content-Length"},
      {length + "Transfer-Encoding: chunked\r\n", body, "both Content-Length"},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", chunked,
       "more than one Transfer-Encoding"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.framing);
    ExpectRefused(Exchange(CreateRepo(c.framing, c.body)), c.what);
    EXPECT_FALSE(RepoExists(name));
  }
  std::string old = "POST /v1/repos HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
                    "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked;
  ExpectRefused(Exchange(old), "HTTP/1.0");
}

TEST_F(FramingTest, InvalidContentLengthsAre400) {
  std::string name = Unique("framing");
  std::string body = "{\"name\": \"" + name + "\"}";
  for (std::string bad : {"-1", "18446744073709551616", "99999999999999999999999", "+5", "5x",
                          "0x10", "1, 1", ""}) {
    SCOPED_TRACE(bad);
    ExpectRefused(Exchange(CreateRepo("Content-Length: " + bad + "\r\n", body)),
                  "is not a whole number of bytes");
  }
  EXPECT_FALSE(RepoExists(name));
}

TEST_F(FramingTest, LinesThatParsersReadDifferentlyAre400) {
  std::string head = "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
                     "\r\n";
  struct Case {
    std::string lines, what;
  } cases[] = {
      {"X-A: 1\nContent-Length: 5\r\n", "bare LF"},
      {"X-A: 1\rContent-Length: 5\r\n", "CR not followed by LF"},
      {"Content-Length : 5\r\n", "whitespace before the colon"},
      {"X-A: 1\r\n Content-Length: 5\r\n", "folding"},
      {"Content-Length 5\r\n", "no colon"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.lines);
    ExpectRefused(Exchange(head + c.lines + "\r\n"), c.what);
  }
  // The same head without them is fine.
  EXPECT_EQ(Statuses(Exchange(head + "Connection: close\r\n\r\n")), std::vector<int>{200});
}

TEST_F(FramingTest, MalformedChunkedBodiesAre400) {
  std::string repo = NewRepo(admin_);
  TestObject hello = Blob("hello");
  auto put = [&](const std::string& chunks) {
    return Exchange("PUT " + hello.Path(repo) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                    admin_ + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks);
  };
  // httplib alone stored "hello" from the first two and ran the rest as a
  // second request.
  for (std::string bad : {"5\r\nhelloXX\r\n0\r\n\r\n", "0x5\r\nhello\r\n0\r\n\r\n",
                          " 5\r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"}) {
    SCOPED_TRACE(bad);
    ExpectRefused(put(bad), "chunked request body is malformed");
    EXPECT_EQ(Admin().Get(hello.Path(repo)).status, 404);
  }
  // Well-formed, with an extension and upper-case hex, it is stored.
  TestObject longer = Blob("hello0123456789");
  std::string ok = Exchange("PUT " + longer.Path(repo) +
                            " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " +
                            admin_ +
                            "\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5;note=x\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n");
  EXPECT_EQ(Statuses(ok), std::vector<int>{201}) << ok;
  EXPECT_EQ(Admin().Get(longer.Path(repo)).body, longer.bytes);
}

TEST_F(FramingTest, ABodyWithoutALengthIsEmpty) {
  // httplib alone read the request after it as this one's body.
  std::string answer = Exchange(CreateRepo("", "") + kSmuggled);
  EXPECT_EQ(Statuses(answer), (std::vector<int>{400, 200})) << answer;
  EXPECT_NE(answer.find("needs a JSON body"), std::string::npos) << answer;
}

TEST_F(FramingTest, TheBodyOfAGetIsNotTheNextRequest) {
  std::string smuggled = "GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string answer = Exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  EXPECT_EQ(Statuses(answer), std::vector<int>{200}) << answer;
}

TEST_F(FramingTest, RangeIsIgnored) {
  std::string repo = NewRepo(admin_);
  TestObject blob = Blob(std::string(5000, 'r') + "end");
  ASSERT_EQ(Admin().PutBytes(blob.Path(repo), blob.bytes).status, 201);
  httplib::Client cli("127.0.0.1", server().port());
  cli.set_bearer_token_auth(admin_.c_str());
  for (const char* range : {"bytes=0-9", "bytes=100-", "bytes=-3", "bytes=0-1,5-9", "bytes=abc",
                            "bytes=9000-9999"}) {
    SCOPED_TRACE(range);
    auto r = cli.Get(blob.Path(repo).c_str(), {{"Range", range}, {"If-Range", blob.hex()}});
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, blob.bytes);
    EXPECT_FALSE(r->has_header("Content-Range"));
    EXPECT_EQ(r->get_header_value("Accept-Ranges"), "none");
  }
  auto head = cli.Head(blob.Path(repo).c_str());
  ASSERT_TRUE(head) << httplib::to_string(head.error());
  EXPECT_EQ(head->get_header_value("Accept-Ranges"), "none");
  auto health = cli.Get("/healthz", {{"Range", "bytes=0-1"}});
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_NE(health->body.find("\"ok\""), std::string::npos) << health->body;
}

}  // namespace
}  // namespace converge::testing

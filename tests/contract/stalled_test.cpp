// Contract: a client that sends part of a request and stops is dropped after
// the read timeout, and such clients, more of them than the server has
// threads, do not stop others being served.
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "fixtures.h"

namespace converge::testing {
namespace {

class StalledTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.config = {{"threads", 2},
                      {"max_connections", 16},
                      {"read_timeout_seconds", 1},
                      {"keep_alive_timeout_seconds", 1}};
    server_ = std::make_unique<ServerProcess>(options);
  }
};

// Waits (up to 30 s, as a safety net, not a measurement) for the server to
// close `conn`, and returns what it sent first.
std::string AnswerBeforeClose(RawConnection& conn) {
  return conn.ReadAll();
}

TEST_F(StalledTest, StalledClientsAreDroppedAndOthersServed) {
  std::string owner = NewUser("owner"), repo = NewRepo(owner);
  TestObject blob = Blob(std::string(1000, 's'));
  std::vector<std::string> partial = {
      "",                                            // connects, sends nothing
      "GET /v1/who",                                 // half a request line
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half",  // half the headers
      "GET /healthz HTTP/1.1\r\nHost: x\r\n",        // no blank line
      "PUT " + blob.Path(repo) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + owner +
          "\r\nContent-Length: 1000\r\n\r\n" + blob.bytes.substr(0, 100),  // half the body
  };
  // Five times as many stalled connections as the server starts threads.
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int round = 0; round < 2; round++)
    for (const std::string& bytes : partial) {
      stalled.push_back(std::make_unique<RawConnection>(server().port()));
      ASSERT_TRUE(stalled.back()->Send(bytes));
    }

  // A normal client is answered (the client's own timeout is generous: how
  // soon is not asserted).
  httplib::Client cli("127.0.0.1", server().port());
  cli.set_read_timeout(30, 0);
  auto health = cli.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  Api api(server().port(), owner);
  EXPECT_EQ(api.PutBytes(blob.Path(repo), blob.bytes).status, 201);

  // Every stalled connection is closed by the server; those that began a
  // request head are told why (408), the cut body is refused.
  for (size_t i = 0; i < stalled.size(); i++) {
    std::string answer = AnswerBeforeClose(*stalled[i]);
    size_t kind = i % partial.size();
    if (kind == 0) {
      EXPECT_EQ(answer, "") << "an idle connection is just closed";
    } else if (kind < 4) {
      EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << kind << ": " << answer;
      EXPECT_NE(answer.find("did not arrive within 1 s"), std::string::npos) << answer;
    } else {
      EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    }
  }
  EXPECT_TRUE(fs::is_empty(server().data_dir() / "tmp"));
}

TEST_F(StalledTest, DribbledHeadersTimeOutAsAWhole) {
  // One byte at a time, each well within the per-read timeout: the head as a
  // whole must still arrive within read_timeout_seconds.
  RawConnection conn(server().port());
  std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'd');
  std::atomic<bool> closed{false};
  std::thread dribble([&] {
    for (char c : head) {
      if (closed || !conn.Send(std::string(1, c))) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::string answer = conn.ReadAll();
  closed = true;
  dribble.join();
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
}

}  // namespace
}  // namespace converge::testing

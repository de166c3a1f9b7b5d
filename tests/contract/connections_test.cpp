// Contract: one address holding many connections with partial request heads
// (slow-loris) cannot keep another address waiting: past
// max_connections_per_address its connections are refused at once (429), and
// when every thread is busy, connections idle or with partial heads are shed
// (503) for those waiting. Every way a connection ends gives its place back.
//
// Two client addresses on one machine: the loopback network is all of
// 127.0.0.0/8, so sockets bound to 127.0.0.2 reach the server (listening on
// 127.0.0.1) as another client than 127.0.0.1.
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "fixtures.h"

namespace converge::testing {
namespace {

constexpr char kOther[] = "127.0.0.2";
const char kPartialHead[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Slow: 1";

using Conns = std::vector<std::unique_ptr<RawConnection>>;

Conns OpenPartialHeads(int port, int n, const std::string& from) {
  Conns out;
  for (int i = 0; i < n; i++) {
    out.push_back(std::make_unique<RawConnection>(port, from));
    EXPECT_TRUE(out.back()->connected()) << "connection " << i << " from " << from;
    out.back()->Send(kPartialHead);
  }
  return out;
}

// Whether a client at 127.0.0.1 gets /healthz answered before its own
// timeout of 10 s, far below the server's read timeout (60 s by default).
bool HealthAnswered(int port) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(10, 0);
  cli.set_read_timeout(10, 0);
  cli.set_write_timeout(10, 0);
  auto r = cli.Get("/healthz");
  return r && r->status == 200;
}

// Reads, from every connection, what the server sends until it closes, for
// at most 30 s (a safety net) or until `enough` of them have closed.
// Returns what each received; those still open get "".
std::vector<std::string> AnswersOf(Conns& conns, size_t enough) {
  std::vector<std::string> got(conns.size());
  std::vector<bool> closed(conns.size(), false);
  size_t done = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (done < enough && std::chrono::steady_clock::now() < until) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t i = 0; i < conns.size(); i++)
      if (!closed[i]) fds.push_back({conns[i]->fd(), POLLIN, 0}), index.push_back(i);
    if (fds.empty() || ::poll(fds.data(), fds.size(), 200) <= 0) continue;
    for (size_t k = 0; k < fds.size(); k++) {
      if (!fds[k].revents) continue;
      char buf[4096];
      ssize_t n = ::recv(fds[k].fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        got[index[k]].append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        closed[index[k]] = true;
        done++;
      }
    }
  }
  return got;
}

size_t CountStartingWith(const std::vector<std::string>& answers, const std::string& prefix) {
  return static_cast<size_t>(std::count_if(answers.begin(), answers.end(), [&](const auto& a) {
    return a.rfind(prefix, 0) == 0;
  }));
}

TEST(ConnectionsTest, PartialHeadsFromOneAddressDoNotHoldUpAnother) {
  // The review's case, with every setting at its default (max_connections
  // 256, read_timeout_seconds 60): 300 partial heads, then a request from
  // another address. Without a cap it waited for the 60 s head timeout.
  ServerProcess server;
  Conns slow = OpenPartialHeads(server.port(), 300, kOther);
  EXPECT_TRUE(HealthAnswered(server.port()));

  // At most max_connections_per_address (64) are held; the rest are refused
  // at once (or, had the pool filled, shed): none is served.
  std::vector<std::string> answers = AnswersOf(slow, 300 - 64);
  size_t refused = CountStartingWith(answers, "HTTP/1.1 429");
  size_t shed = CountStartingWith(answers, "HTTP/1.1 503");
  EXPECT_GE(refused + shed, 300u - 64u);
  EXPECT_GT(refused, 0u);
  for (const std::string& a : answers)
    if (a.rfind("HTTP/1.1 429", 0) == 0) {
      EXPECT_NE(a.find("Retry-After: 1"), std::string::npos) << a;
      EXPECT_NE(a.find("\"rate_limited\""), std::string::npos) << a;
      EXPECT_NE(a.find("max_connections_per_address"), std::string::npos) << a;
      break;
    }
}

TEST(ConnectionsTest, IdleAndPartialConnectionsAreShedWhenThePoolIsFull) {
  // No cap reached here (20 from one address): only shedding can help.
  ServerOptions options;
  options.config = {{"threads", 2}, {"max_connections", 8}};
  ServerProcess server(options);
  Conns slow = OpenPartialHeads(server.port(), 20, kOther);
  for (int i = 0; i < 5; i++) slow.push_back(std::make_unique<RawConnection>(server.port(), kOther));
  EXPECT_TRUE(HealthAnswered(server.port()));

  std::vector<std::string> answers = AnswersOf(slow, 10);
  std::string shed;
  for (const std::string& a : answers)
    if (a.rfind("HTTP/1.1 503", 0) == 0) shed = a;
  ASSERT_NE(shed, "") << "no connection was shed";
  EXPECT_NE(shed.find("\"unavailable\""), std::string::npos) << shed;
  EXPECT_NE(shed.find("limit of 8 connections"), std::string::npos) << shed;
  EXPECT_NE(shed.find("Connection: close"), std::string::npos) << shed;
  // Still served once the pressure is off.
  slow.clear();
  EXPECT_TRUE(HealthAnswered(server.port()));
}

// Opens cap + 1 partial heads from `from`, and once one is refused,
// completes the others: true when exactly `cap` are served (200) and one
// refused (429), i.e. the server counted none but these from `from`.
bool CapHoldsExactly(int port, const std::string& from, size_t cap) {
  Conns conns = OpenPartialHeads(port, static_cast<int>(cap + 1), from);
  std::vector<std::string> first = AnswersOf(conns, 1);
  if (CountStartingWith(first, "HTTP/1.1 429") != 1) return false;
  for (size_t i = 0; i < conns.size(); i++)
    if (first[i].empty()) conns[i]->Send("\r\n\r\n");
  std::vector<std::string> rest = AnswersOf(conns, conns.size());
  for (size_t i = 0; i < conns.size(); i++) rest[i] = first[i] + rest[i];
  return CountStartingWith(rest, "HTTP/1.1 200") == cap &&
         CountStartingWith(rest, "HTTP/1.1 429") == 1;
}

// The answer to `request` on a new connection from `from`, read until the
// server closes it. The places of connections just closed come back
// asynchronously, so a new one may still be refused for the cap (429, or a
// reset when the refusal closed it before its request was read): try again
// for a while then.
std::string AnswerFrom(int port, const std::string& from, const std::string& request) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    RawConnection c(port, from);
    c.Send(request);
    std::string answer = c.ReadAll();
    bool refused = answer.empty() || answer.rfind("HTTP/1.1 429", 0) == 0;
    if (!refused || std::chrono::steady_clock::now() > until) return answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// The server frees places asynchronously after a close: retry for a while.
bool EventuallyCapHoldsExactly(int port, const std::string& from, size_t cap) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    if (CapHoldsExactly(port, from, cap)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

TEST(ConnectionsTest, PerAddressCapRefusesTheRestAndEveryCloseGivesItsPlaceBack) {
  ServerOptions options;
  options.config = {{"max_connections_per_address", 4}, {"keep_alive_timeout_seconds", 1}};
  ServerProcess server(options);
  int port = server.port();
  ASSERT_TRUE(EventuallyCapHoldsExactly(port, kOther, 4));

  // Held connections from one address do not limit another.
  Conns held = OpenPartialHeads(port, 4, kOther);
  EXPECT_TRUE(HealthAnswered(port));
  held.clear();
  ASSERT_TRUE(EventuallyCapHoldsExactly(port, kOther, 4));  // their places are back

  // Every way a connection from there ends: served and closed; served, then
  // idle until the keep-alive timeout; refused for bad framing; a head cut
  // off by the client (FIN) or reset (RST); refused for the cap.
  std::string ok = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(AnswerFrom(port, kOther, ok + "Connection: close\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
  // Answered, then closed by the server at the keep-alive timeout.
  EXPECT_EQ(AnswerFrom(port, kOther, ok + "\r\n").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(AnswerFrom(port, kOther, ok + "Content-Length: -1\r\n\r\n").rfind("HTTP/1.1 400", 0),
            0u);
  for (int i = 0; i < 3; i++) {
    Conns cut = OpenPartialHeads(port, 4, kOther);
    for (auto& c : cut) {
      if (i == 1) {
        linger hard{1, 0};  // close() sends RST
        ::setsockopt(c->fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      } else if (i == 2) {
        c->HalfClose();
      }
    }
  }
  Conns over = OpenPartialHeads(port, 12, kOther);
  over.clear();

  // None of it left a place taken.
  EXPECT_TRUE(EventuallyCapHoldsExactly(port, kOther, 4));
  EXPECT_TRUE(EventuallyCapHoldsExactly(port, "127.0.0.1", 4));
}

}  // namespace
}  // namespace converge::testing

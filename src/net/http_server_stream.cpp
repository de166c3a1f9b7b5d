#include "net/http_server_stream.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace converge {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kBlankLine = 0x0d0a0d0a;  // "\r\n\r\n"

// poll() for `events`, retrying interrupted calls: >0 ready, 0 timeout, <0 error.
int WaitFor(int sock, short events, int timeout_ms) {
  pollfd p{sock, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, std::max(timeout_ms, 0));
    if (r >= 0 || errno != EINTR) return r;
  }
}

int MillisUntil(Clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, INT32_MAX));
}

void NameOf(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(sock, sa, &len) : ::getsockname(sock, sa, &len)) != 0) return;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return;
  ip = host;
  port = std::atoi(serv);
}

// After answering a request that was not read to its end, the client may
// still be sending; closing with unread data would reset the connection and
// could destroy the answer in flight. Read and drop a bounded amount, for a
// bounded time, first (this holds the thread: keep it short). A client that
// has finished sees our FIN and closes, which ends the wait at once.
void LingeringClose(int sock) {
  ::shutdown(sock, SHUT_WR);
  char sink[16 << 10];
  size_t dropped = 0;
  Clock::time_point until = Clock::now() + std::chrono::milliseconds(250);
  while (dropped < (1u << 20) && WaitFor(sock, POLLIN, MillisUntil(until)) > 0) {
    ssize_t n = ::recv(sock, sink, sizeof sink, 0);
    if (n <= 0) break;
    dropped += static_cast<size_t>(n);
  }
}

}  // namespace

ConnFault& CurrentConnFault() {
  thread_local ConnFault fault = ConnFault::kNone;
  return fault;
}

void LimitedStream::BeginRequest() {
  in_head_ = true;
  head_bytes_ = 0;
  tail_ = 0;
  head_deadline_ = Clock::now() + std::chrono::seconds(limits_.read_timeout_seconds);
  fault_ = ConnFault::kNone;
  CurrentConnFault() = ConnFault::kNone;
}

ssize_t LimitedStream::Fail(ConnFault fault) {
  fault_ = fault;
  CurrentConnFault() = fault;
  in_head_ = false;
  return 0;
}

bool LimitedStream::Fill() {
  int timeout_ms = limits_.read_timeout_seconds * 1000;
  if (in_head_) timeout_ms = std::min(timeout_ms, MillisUntil(head_deadline_));
  if (WaitFor(sock_, POLLIN, timeout_ms) <= 0) return false;
  ssize_t n;
  do {
    n = ::recv(sock_, buf_, sizeof buf_, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  pos_ = 0;
  end_ = static_cast<size_t>(n);
  return true;
}

ssize_t LimitedStream::read(char* ptr, size_t size) {
  if (failed()) return 0;
  // A client dribbling bytes never lets a read time out: the deadline does.
  if (pos_ == end_ && in_head_ && head_bytes_ > 0 && Clock::now() >= head_deadline_)
    return Fail(ConnFault::kHeadTimeout);
  if (pos_ == end_ && !Fill()) {
    if (in_head_ && Clock::now() >= head_deadline_) return Fail(ConnFault::kHeadTimeout);
    return in_head_ && head_bytes_ > 0 ? Fail(ConnFault::kHeadTimeout) : -1;
  }
  size_t n = std::min(size, end_ - pos_);
  if (in_head_) {
    // httplib reads the head a byte at a time; hand out no byte past its end.
    size_t i = 0;
    while (i < n && in_head_) {
      tail_ = (tail_ << 8) | static_cast<unsigned char>(buf_[pos_ + i++]);
      if (++head_bytes_ > limits_.max_header_bytes) return Fail(ConnFault::kHeadTooLarge);
      if (tail_ == kBlankLine) in_head_ = false;
    }
    n = i;
  }
  std::copy(buf_ + pos_, buf_ + pos_ + n, ptr);
  pos_ += n;
  return static_cast<ssize_t>(n);
}

bool LimitedStream::is_readable() const {
  return has_buffered() || WaitFor(sock_, POLLIN, limits_.read_timeout_seconds * 1000) > 0;
}

bool LimitedStream::is_writable() const {
  return WaitFor(sock_, POLLOUT, limits_.write_timeout_seconds * 1000) > 0;
}

ssize_t LimitedStream::write(const char* ptr, size_t size) {
  if (!is_writable()) return -1;
  ssize_t n;
  do {
    n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void LimitedStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  NameOf(sock_, true, ip, port);
}

void LimitedStream::get_local_ip_and_port(std::string& ip, int& port) const {
  NameOf(sock_, false, ip, port);
}

bool LimitedServer::WaitForRequest(const LimitedStream& strm) const {
  if (strm.has_buffered()) return true;
  // In slices, so that a stopping server does not wait out idle clients.
  Clock::time_point until = Clock::now() + std::chrono::seconds(keep_alive_timeout_sec_);
  while (svr_sock_ != INVALID_SOCKET) {
    int left = MillisUntil(until);
    int r = WaitFor(strm.socket(), POLLIN, std::min(left, 100));
    if (r != 0) return r > 0;
    if (left == 0) return false;
  }
  return false;
}

bool LimitedServer::process_and_close_socket(int sock) {
  int yes = 1;  // see the listening socket's options in http_server.cpp
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  bool ok = false;
  {
    LimitedStream strm(sock, limits_);
    for (size_t left = keep_alive_max_count_; left > 0 && WaitForRequest(strm); left--) {
      strm.BeginRequest();
      bool closed = false;
      ok = process_request(strm, left == 1, closed, nullptr);
      // Any answer that ends the connection may leave the client mid-body
      // (a 413 for a chunked upload over the limit, a head cut off): linger.
      if (strm.failed() || !ok || closed) {
        LingeringClose(sock);
        break;
      }
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

ElasticPool::ElasticPool(size_t base, size_t max) : max_(std::max(base, max)) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < std::max<size_t>(base, 1); i++) threads_.emplace_back([this] { Work(); });
}

ElasticPool::~ElasticPool() {
  shutdown();
}

void ElasticPool::enqueue(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.push_back(std::move(fn));
  // Threads stay once started: a burst leaves the pool at its high-water mark.
  if (idle_ < jobs_.size() && threads_.size() < max_) threads_.emplace_back([this] { Work(); });
  cv_.notify_one();
}

void ElasticPool::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : threads) t.join();
}

void ElasticPool::Work() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      idle_++;
      cv_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
      idle_--;
      if (jobs_.empty()) return;  // shutting down, nothing left to do
      fn = std::move(jobs_.front());
      jobs_.pop_front();
    }
    fn();
  }
}

}  // namespace converge

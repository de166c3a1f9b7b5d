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

#include "base/status.h"
#include "net/http_log.h"
#include "api/wire.h"

namespace converge {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kBlankLine = 0x0d0a0d0a;  // "\r\n\r\n"
// How often a connection waiting for bytes looks whether it should give up.
constexpr int kSliceMs = 100;

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

// Reads and drops what has arrived, without waiting.
void DrainArrived(int sock) {
  char sink[16 << 10];
  for (size_t dropped = 0; dropped < (1u << 20);) {
    ssize_t n = ::recv(sock, sink, sizeof sink, MSG_DONTWAIT);
    if (n <= 0) break;
    dropped += static_cast<size_t>(n);
  }
}

}  // namespace

ConnFault& CurrentConnFault() {
  thread_local ConnFault fault = ConnFault::kNone;
  return fault;
}

std::string& CurrentConnFaultDetail() {
  thread_local std::string detail;
  return detail;
}

void LimitedStream::BeginRequest() {
  phase_ = Phase::kHead;
  head_deadline_ = Clock::now() + std::chrono::seconds(limits_.read_timeout_seconds);
  framing_ = BodyFraming::kNone;
  body_left_ = 0;
  chunked_ = ChunkedFraming();
  fault_ = ConnFault::kNone;
  CurrentConnFault() = ConnFault::kNone;
  CurrentConnFaultDetail().clear();
}

void LimitedStream::Fail(ConnFault fault, std::string detail) {
  fault_ = fault;
  CurrentConnFault() = fault;
  CurrentConnFaultDetail() = std::move(detail);
}

int LimitedStream::WaitReadable(Clock::time_point until,
                                const std::atomic<socket_t>* stop) const {
  for (;;) {
    int left = MillisUntil(until);
    int r = WaitFor(sock_, POLLIN, std::min(left, kSliceMs));
    // Bytes that arrived are read even from a connection asked to close:
    // its request may be complete by now.
    if (r != 0) return r;
    if (left == 0 || (slot_ && slot_->shed())) return 0;
    if (stop && *stop == INVALID_SOCKET) return 0;
  }
}

bool LimitedStream::Fill(Clock::time_point until) {
  if (WaitReadable(until) <= 0) return false;
  ssize_t n;
  do {
    n = ::recv(sock_, buf_, sizeof buf_, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  pos_ = 0;
  end_ = static_cast<size_t>(n);
  return true;
}

bool LimitedStream::ReadHead() {
  if (head_.capacity() > (64u << 10)) head_ = std::string();  // an earlier big head
  head_.clear();
  head_pos_ = 0;
  if (slot_) slot_->Enter(ConnTable::State::kHead);
  uint32_t tail = 0;  // the last four bytes, to find the blank line
  bool complete = false;
  while (!complete && !failed()) {
    // A client dribbling bytes never lets a read time out: the deadline does.
    if (pos_ == end_ && (Clock::now() >= head_deadline_ || !Fill(head_deadline_))) {
      if (head_.empty()) {  // nothing arrived: just close, as for an idle connection
        phase_ = Phase::kBody;
        return false;
      }
      Fail(slot_ && slot_->shed() ? ConnFault::kShed : ConnFault::kHeadTimeout);
      break;
    }
    while (pos_ < end_ && !complete) {
      char c = buf_[pos_++];
      head_.push_back(c);
      tail = (tail << 8) | static_cast<unsigned char>(c);
      if (head_.size() > limits_.max_header_bytes) {
        Fail(ConnFault::kHeadTooLarge);
        break;
      }
      complete = tail == kBlankLine;
    }
  }
  if (slot_) slot_->Enter(ConnTable::State::kBusy);
  if (complete) {
    RequestHead checked = CheckRequestHead(head_);
    if (!checked.error.empty()) {
      Fail(ConnFault::kBadHead, std::move(checked.error));
    } else {
      head_ = std::move(checked.text);
      framing_ = checked.framing;
      body_left_ = checked.length;
    }
  }
  // After a fault httplib gets the request line (or what came of it) and
  // then the end of the stream, so that it calls the error handler.
  if (failed() && head_.find('\n') != std::string::npos) head_.resize(head_.find('\n') + 1);
  phase_ = Phase::kHand;
  return true;
}

ssize_t LimitedStream::read(char* ptr, size_t size) {
  if (phase_ == Phase::kHead && !ReadHead()) return -1;
  if (phase_ == Phase::kHand) {
    if (head_pos_ < head_.size()) {
      size_t n = std::min(size, head_.size() - head_pos_);
      std::copy(head_.data() + head_pos_, head_.data() + head_pos_ + n, ptr);
      head_pos_ += n;
      return static_cast<ssize_t>(n);
    }
    if (failed()) return 0;
    phase_ = Phase::kBody;
  }
  if (failed()) return -1;
  return ReadBody(ptr, size);
}

ssize_t LimitedStream::ReadBody(char* ptr, size_t size) {
  switch (framing_) {
    case BodyFraming::kNone:
      return 0;  // httplib would read a POST without a length until the connection closes
    case BodyFraming::kLength: {
      if (body_left_ == 0) return 0;
      ssize_t n = ReadRaw(ptr, static_cast<size_t>(std::min<uint64_t>(size, body_left_)));
      if (n > 0) body_left_ -= static_cast<uint64_t>(n);
      return n;
    }
    case BodyFraming::kChunked: {
      size_t want = std::min<uint64_t>(size, chunked_.Want());
      if (want == 0) return 0;
      ssize_t n = ReadRaw(ptr, want);
      if (n > 0 && !chunked_.Feed(ptr, static_cast<size_t>(n))) {
        Fail(ConnFault::kBadBody, chunked_.error());
        return -1;
      }
      return n;
    }
  }
  return -1;
}

ssize_t LimitedStream::ReadRaw(char* ptr, size_t size) {
  if (pos_ == end_ &&
      !Fill(Clock::now() + std::chrono::seconds(limits_.read_timeout_seconds)))
    return -1;
  size_t n = std::min(size, end_ - pos_);
  std::copy(buf_ + pos_, buf_ + pos_ + n, ptr);
  pos_ += n;
  return static_cast<ssize_t>(n);
}

bool LimitedStream::body_done() const {
  switch (framing_) {
    case BodyFraming::kNone:
      return true;
    case BodyFraming::kLength:
      return body_left_ == 0;
    case BodyFraming::kChunked:
      return chunked_.done();
  }
  return false;
}

bool LimitedStream::is_readable() const {
  if (phase_ == Phase::kHand && head_pos_ < head_.size()) return true;
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

bool LimitedServer::process_and_close_socket(int sock) {
  int yes = 1;  // see the listening socket's options in http_server.cpp
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  std::string key = ::getpeername(sock, reinterpret_cast<sockaddr*>(&peer), &len) == 0
                        ? AddressKey(peer)
                        : "unknown";
  bool ok = false;
  {
    std::unique_ptr<ConnTable::Slot> slot = conns_->Admit(key);
    if (slot) {
      ok = Serve(sock, slot.get());
    } else {
      Refuse(sock, key);
    }
  }  // the slot is given back here, however the connection ended
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

bool LimitedServer::Serve(int sock, ConnTable::Slot* slot) {
  bool ok = false;
  LimitedStream strm(sock, limits_, slot);
  for (size_t left = keep_alive_max_count_; left > 0; left--) {
    slot->Enter(ConnTable::State::kWaiting);
    // In slices, so that a stopping server does not wait out idle clients.
    if (!strm.has_buffered() &&
        strm.WaitReadable(Clock::now() + std::chrono::seconds(keep_alive_timeout_sec_),
                          &svr_sock_) <= 0)
      break;
    strm.BeginRequest();
    bool closed = false;
    ok = process_request(strm, left == 1, closed, nullptr);
    // Any answer that ends the connection may leave the client mid-body
    // (a 413 for a chunked upload over the limit, a head cut off): linger.
    // A body left unread (a GET with one) would be taken for the next
    // request: end the connection instead.
    if (strm.failed() || !ok || closed || !strm.body_done()) {
      LingeringClose(sock);
      break;
    }
  }
  return ok;
}

void LimitedServer::Refuse(int sock, const std::string& key) const {
  std::string body =
      wire::ToJson(wire::ApiError{
                       CodeName(Code::kRateLimited),
                       "too many connections from " + key + " at once (the limit is " +
                           std::to_string(conns_->per_address()) +
                           "): close some and try again, or ask the server's operator to raise "
                           "max_connections_per_address"})
          .dump() +
      "\n";
  std::string answer =
      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body;
  // What already arrived is read first, so that closing does not reset the
  // connection and destroy the answer; no waiting for more (this costs the
  // thread nothing: the point is not to hold one).
  DrainArrived(sock);
  ::send(sock, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(sock, SHUT_WR);
  DrainArrived(sock);
  if (LogEnabled(LogLevel::kInfo)) {
    std::string ip;
    int port = 0;
    NameOf(sock, true, ip, port);
    LogLine(LogLevel::kInfo, "access " + LogField(ip) + " - - 429 " +
                                 std::to_string(answer.size()) + " 0ms -");
  }
}

}  // namespace converge

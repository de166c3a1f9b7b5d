// The connection layer under httplib's request parser, for plain HTTP.
//
// httplib 0.11 (Debian's compiled library) caps each header line but not the
// whole head, and its read timeout is per recv(): a client that dribbles a
// header byte every few seconds, or sends header lines forever, holds a worker
// thread indefinitely. LimitedServer serves each connection through a
// LimitedStream, which reads the whole request head (request line and
// headers) before httplib sees any of it, against max_header_bytes and within
// read_timeout_seconds in all, and checks its framing (http_server_head.h).
// A head over either limit, or with bad framing, ends the connection after
// one JSON answer (431, 408 or 400, see ConnFault); the error handler learns
// why from CurrentConnFault(). The body is then handed on as framed: nothing
// past its end, and a chunked one checked as it passes.
//
// Each connection is admitted by a ConnTable (http_server_conns.h): over the
// per-address cap it is refused at once with 429; while it waits for a
// request or its head it may be shed to free its thread (503 when it had
// begun a head).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/http_server_conns.h"
#include "net/http_server_head.h"

namespace converge {

struct ConnLimits {
  size_t max_header_bytes = 64 << 10;
  int read_timeout_seconds = 60;   // per read, and for the whole request head
  int write_timeout_seconds = 60;  // per write
};

enum class ConnFault {
  kNone,
  kHeadTooLarge,  // 431
  kHeadTimeout,   // 408
  kBadHead,       // 400: framing headers or line endings (CurrentConnFaultDetail says which)
  kBadBody,       // 400: a chunked body's framing
  kShed,          // 503: closed to free its thread while its head was incomplete
};

// Why the request on this thread's connection failed before reaching a
// route, and for kBadHead and kBadBody a sentence saying what was wrong.
ConnFault& CurrentConnFault();
std::string& CurrentConnFaultDetail();

class LimitedStream : public httplib::Stream {
 public:
  // `slot` (may be null) hears what the connection is doing and may ask it to close.
  LimitedStream(int sock, const ConnLimits& limits, ConnTable::Slot* slot)
      : sock_(sock), limits_(limits), slot_(slot) {}

  // A new request starts: its head is read, counted and timed from now.
  void BeginRequest();
  bool failed() const { return fault_ != ConnFault::kNone; }
  bool has_buffered() const { return pos_ < end_; }
  // Whether the request's body was read to its end, so that the next bytes
  // are the next request.
  bool body_done() const;
  // Waits, in slices, until the socket has something to read: >0 readable,
  // 0 when `until` passed, the server stopped (`stop`) or the connection was
  // asked to close, <0 error.
  int WaitReadable(std::chrono::steady_clock::time_point until,
                   const std::atomic<socket_t>* stop = nullptr) const;

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return sock_; }

 private:
  enum class Phase {
    kHead,  // the head is to be read
    kHand,  // handing head_ to httplib
    kBody,  // handing on the body
  };
  // Reads the head into head_ and checks it, then hands it (or, after a
  // fault, its first line) to httplib. False when nothing at all arrived.
  bool ReadHead();
  ssize_t ReadBody(char* ptr, size_t size);
  // Bytes from buf_, or from the socket when it is empty.
  ssize_t ReadRaw(char* ptr, size_t size);
  // Reads more into buf_: false on timeout, error, end of stream or shedding.
  bool Fill(std::chrono::steady_clock::time_point until);
  void Fail(ConnFault fault, std::string detail = "");

  int sock_;
  ConnLimits limits_;
  ConnTable::Slot* slot_;
  char buf_[16 << 10];
  size_t pos_ = 0, end_ = 0;
  Phase phase_ = Phase::kBody;
  std::string head_;
  size_t head_pos_ = 0;
  std::chrono::steady_clock::time_point head_deadline_;
  BodyFraming framing_ = BodyFraming::kNone;
  uint64_t body_left_ = 0;  // with kLength
  ChunkedFraming chunked_;
  ConnFault fault_ = ConnFault::kNone;
};

// httplib::Server whose plain-HTTP connections go through LimitedStream.
// (HTTPS connections use httplib's own SSL stream and only its limits.)
class LimitedServer : public httplib::Server {
 public:
  LimitedServer(const ConnLimits& limits, std::shared_ptr<ConnTable> conns)
      : limits_(limits), conns_(std::move(conns)) {}

 private:
  bool process_and_close_socket(int sock) override;
  // Serves the requests of one admitted connection.
  bool Serve(int sock, ConnTable::Slot* slot);
  // Answers 429 to a connection from `key`, which is over the per-address cap.
  void Refuse(int sock, const std::string& key) const;

  ConnLimits limits_;
  std::shared_ptr<ConnTable> conns_;
};

}  // namespace converge

// The connection layer under httplib's request parser, for plain HTTP.
//
// httplib 0.11 (Debian's compiled library) caps each header line but not the
// whole head, and its read timeout is per recv(): a client that dribbles a
// header byte every few seconds, or sends header lines forever, holds a worker
// thread indefinitely. LimitedServer serves each connection through a
// LimitedStream, which counts the request head (request line and headers)
// against max_header_bytes and gives it read_timeout_seconds in all to arrive.
// A head over either limit ends the connection after one JSON answer (431 or
// 408, see ConnFault); the error handler learns why from CurrentConnFault().
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
};

// Why the request on this thread's connection failed before reaching a route.
ConnFault& CurrentConnFault();

class LimitedStream : public httplib::Stream {
 public:
  LimitedStream(int sock, const ConnLimits& limits) : sock_(sock), limits_(limits) {}

  // A new request starts: its head is counted and timed from now.
  void BeginRequest();
  bool failed() const { return fault_ != ConnFault::kNone; }
  bool has_buffered() const { return pos_ < end_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return sock_; }

 private:
  // Reads more into buf_: false on timeout, error or end of stream.
  bool Fill();
  // Ends the head with `fault`; reads then report end of stream, which makes
  // httplib answer with its error handler instead of waiting for more.
  ssize_t Fail(ConnFault fault);

  int sock_;
  ConnLimits limits_;
  char buf_[16 << 10];
  size_t pos_ = 0, end_ = 0;
  bool in_head_ = false;
  size_t head_bytes_ = 0;
  uint32_t tail_ = 0;  // the last four head bytes, to find the blank line
  std::chrono::steady_clock::time_point head_deadline_;
  ConnFault fault_ = ConnFault::kNone;
};

// httplib::Server whose plain-HTTP connections go through LimitedStream.
// (HTTPS connections use httplib's own SSL stream and only its limits.)
class LimitedServer : public httplib::Server {
 public:
  explicit LimitedServer(const ConnLimits& limits) : limits_(limits) {}

 private:
  bool process_and_close_socket(int sock) override;
  // Waits, at most the keep-alive timeout, for the next request's first byte.
  bool WaitForRequest(const LimitedStream& strm) const;

  ConnLimits limits_;
};

// httplib's task queue, one task per connection. httplib's own ThreadPool
// has a fixed size, so that as many stalled clients as threads stop everyone
// else until they time out; this one starts `base` threads and adds one
// whenever a connection arrives with none idle, up to `max`. Past that,
// connections wait their turn.
class ElasticPool : public httplib::TaskQueue {
 public:
  ElasticPool(size_t base, size_t max);
  ~ElasticPool() override;
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void Work();

  size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace converge

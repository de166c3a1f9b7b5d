// An HTTP(S) client for one converge server: JSON calls, and streaming
// uploads and downloads whose memory stays flat. Every failure comes back as
// a Status: the server's JSON error keeps its code and message; a transport
// failure is kUnavailable naming the server and what to check. No answer can
// make the client hold more than kMaxAnswerBytes of it: a body held in memory
// (a JSON answer, an error) is counted as it arrives (after decompression)
// and the transfer is dropped past the cap, with a kTooLarge error.
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace converge {

struct HttpOptions {
  std::string token;    // bearer token; empty: none
  std::string ca_file;  // PEM bundle to trust for https (default: the system's)
  int connect_timeout_s = 10;
  int read_timeout_s = 300;
};

class HttpClient {
 public:
  // The most of one answer the client holds in memory: far above any honest
  // answer (a page of 1000 publications or audit rows is under 1 MiB).
  static constexpr size_t kMaxAnswerBytes = 8u << 20;

  // `url` is "http://host:port" or "https://host:port" (a trailing '/' is dropped).
  static Result<HttpClient> Connect(const std::string& url, const HttpOptions& opts);
  // Another client of the same server with the same options: a second
  // connection, for a transfer beside this one's (each is one thread's).
  Result<HttpClient> Another() const { return Connect(url_, opts_); }

  const std::string& url() const { return url_; }
  // Bytes of JSON answers read so far (what a Pager counts).
  uint64_t answer_bytes() const { return answer_bytes_; }

  Result<nlohmann::json> Get(const std::string& path);
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> Put(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> Delete(const std::string& path);

  // Raw bytes up and down (single objects).
  Result<nlohmann::json> PutBytes(const std::string& path, std::string_view bytes,
                                  const std::string& content_type);
  // POSTs `body` (JSON) and streams the answer's bytes to `sink`; a sink
  // error stops the transfer and is returned. `accept`, when not empty, is
  // sent as the Accept header.
  Status PostForStream(const std::string& path, const nlohmann::json& body,
                       const std::function<Status(std::string_view)>& sink,
                       const std::string& accept = "");
  Status GetStream(const std::string& path, const std::function<Status(std::string_view)>& sink);
  // Streams a body of unknown length (chunked): `producer` is called with a
  // writer until it returns done=true. Answers the server's JSON.
  using Writer = std::function<bool(std::string_view)>;
  Result<nlohmann::json> PostStreamed(
      const std::string& path, const std::string& content_type,
      const std::function<Status(const Writer&, bool* done)>& producer);

  // A header of the last answer read (JSON or streamed), "" when it had none.
  std::string LastAnswerHeader(const std::string& name) const;
  // Request body bytes sent so far (JSON, raw and streamed bodies).
  uint64_t body_bytes_sent() const { return sent_; }

  // Percent-encodes one path segment.
  static std::string Escape(std::string_view segment);

 private:
  HttpClient(std::string url, HttpOptions opts, std::unique_ptr<httplib::Client> client)
      : url_(std::move(url)), opts_(std::move(opts)), client_(std::move(client)) {}
  Status TransportError(httplib::Error err, const std::string& what) const;
  Status AnswerTooLarge(const std::string& what) const;
  // Sends `req` and reads its answer as JSON, at most kMaxAnswerBytes of it.
  Result<nlohmann::json> Exchange(httplib::Request req);
  // Sends `req` and streams a 2xx answer's body to `sink`.
  Status Stream(httplib::Request req, const std::function<Status(std::string_view)>& sink);

  std::string url_;
  HttpOptions opts_;
  std::unique_ptr<httplib::Client> client_;
  uint64_t answer_bytes_ = 0;
  uint64_t sent_ = 0;
  httplib::Headers last_headers_;
};

// The Status an error answer stands for (its JSON error body when there is one).
Status StatusFromHttp(int http_status, const std::string& body);

}  // namespace converge

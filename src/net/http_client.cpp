#include "net/http_client.h"

#include "base/json.h"
#include "base/text.h"

namespace converge {

using json = nlohmann::json;

namespace {

Code CodeForHttp(int status) {
  switch (status) {
    case 400:
      return Code::kInvalid;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermission;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kConflict;
    case 413:
      return Code::kTooLarge;
    case 422:
      return Code::kCorrupt;
    case 429:
      return Code::kRateLimited;
    case 503:
      return Code::kUnavailable;
    case 507:
      return Code::kIo;
    default:
      return Code::kInternal;
  }
}

// A string field of a server's error answer, or "" when it is absent or not a
// string (json::value would throw on a hostile answer's other types). Shown
// as one line of at most kMaxMessage bytes: a server cannot add lines or
// terminal escapes to the client's error.
std::string ErrorField(const json& e, const char* key) {
  constexpr size_t kMaxMessage = 500;
  auto it = e.find(key);
  if (it == e.end() || !it->is_string()) return "";
  std::string s = it->get<std::string>();
  if (s.size() > kMaxMessage) {
    size_t cut = kMaxMessage;  // on a character boundary: the text stays UTF-8
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) cut--;
    s = s.substr(0, cut) + "...";
  }
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

std::string Describe(const std::string& method, const std::string& path) {
  return method + " " + path;
}

// An answer's body held in memory, never more than HttpClient::kMaxAnswerBytes
// of it: a declared Content-Length past the cap is refused before a byte is
// read, and bytes past it stop the transfer (httplib then drops the connection).
class BoundedBody {
 public:
  // For the response handler: false refuses the answer.
  bool Start(const httplib::Response& r) {
    status_ = r.status;
    if (r.has_header("Content-Length") &&
        r.get_header_value<uint64_t>("Content-Length") > HttpClient::kMaxAnswerBytes)
      too_large_ = true;
    return !too_large_;
  }
  // For the content receiver: false stops the transfer.
  bool Add(const char* data, size_t len) {
    if (len > HttpClient::kMaxAnswerBytes - text_.size()) too_large_ = true;
    if (too_large_) return false;
    text_.append(data, len);
    return true;
  }
  int status() const { return status_; }
  bool ok() const { return status_ >= 200 && status_ < 300; }
  bool too_large() const { return too_large_; }
  const std::string& text() const { return text_; }

 private:
  int status_ = 0;
  bool too_large_ = false;
  std::string text_;
};

}  // namespace

Status StatusFromHttp(int http_status, const std::string& body) {
  Result<json> j = ParseJson(body);
  if (j.ok() && j->is_object() && j->contains("error") && (*j)["error"].is_object()) {
    const json& e = (*j)["error"];
    std::string code = ErrorField(e, "code");
    std::string message = ErrorField(e, "message");
    Code c = code.empty() ? CodeForHttp(http_status) : CodeFromName(code);
    if (c == Code::kOk) c = CodeForHttp(http_status);
    return Status(c, message.empty() ? "HTTP " + std::to_string(http_status) : message);
  }
  return Status(CodeForHttp(http_status),
                "the server answered HTTP " + std::to_string(http_status));
}

Result<HttpClient> HttpClient::Connect(const std::string& raw_url, const HttpOptions& opts) {
  std::string url = raw_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    return Invalid("server URL '" + raw_url + "' must start with http:// or https://");
  auto client = std::make_unique<httplib::Client>(url);
  if (!client->is_valid()) return Invalid("cannot use server URL '" + raw_url + "'");
  client->set_keep_alive(true);
  // httplib writes a request's head and body separately: with Nagle on, the
  // body waits for the server's delayed ACK (40 ms a request on Linux).
  client->set_tcp_nodelay(true);
  client->set_connection_timeout(opts.connect_timeout_s);
  client->set_read_timeout(opts.read_timeout_s);
  client->set_write_timeout(opts.read_timeout_s);
  if (!opts.token.empty()) client->set_bearer_token_auth(opts.token);
  if (url.rfind("https://", 0) == 0) {
    client->enable_server_certificate_verification(true);
    if (!opts.ca_file.empty()) client->set_ca_cert_path(opts.ca_file);
  }
  client->set_default_headers({{"User-Agent", std::string("converge/") + CONVERGE_VERSION}});
  return HttpClient(url, opts, std::move(client));
}

Status HttpClient::TransportError(httplib::Error err, const std::string& what) const {
  std::string base = "cannot reach the converge server at " + url_ + " (" + what + "): ";
  switch (err) {
    case httplib::Error::Connection:
      return Unavailable(base + "connection failed; is 'converge serve' running there, and is " +
                         "the URL right?");
    case httplib::Error::ConnectionTimeout:
      return Unavailable(base + "connection timed out; check the URL and your network");
    case httplib::Error::SSLServerVerification:
      return Unavailable(base + "its TLS certificate could not be verified; if it uses a " +
                         "private CA, pass --ca-file or set CONVERGE_CA_FILE");
    case httplib::Error::SSLConnection:
      return Unavailable(base + "the TLS handshake failed (is it really https?)");
    case httplib::Error::SSLLoadingCerts:
      return Unavailable(base + "could not load the CA certificates (check --ca-file)");
    case httplib::Error::Read:
      return Unavailable(base + "the connection broke while reading the answer");
    case httplib::Error::Write:
      return Unavailable(base + "the connection broke while sending the request");
    case httplib::Error::Canceled:
      return Unavailable(base + "the transfer was stopped");
    default:
      return Unavailable(base + httplib::to_string(err));
  }
}

Status HttpClient::AnswerTooLarge(const std::string& what) const {
  return TooLarge("the server's answer to " + what + " is larger than " +
                  std::to_string(kMaxAnswerBytes >> 20) +
                  " MiB, more than any converge server "
                  "sends; is " +
                  url_ + " (--url, or the workspace's remote) a converge server?");
}

std::string HttpClient::LastAnswerHeader(const std::string& name) const {
  auto it = last_headers_.find(name);
  return it == last_headers_.end() ? "" : it->second;
}

Result<json> HttpClient::Exchange(httplib::Request req) {
  std::string what = Describe(req.method, req.path);
  BoundedBody body;
  last_headers_.clear();
  sent_ += req.body.size();
  req.response_handler = [&](const httplib::Response& r) {
    last_headers_ = r.headers;
    return body.Start(r);
  };
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    return body.Add(data, len);
  };
  httplib::Result res = client_->send(req);
  answer_bytes_ += body.text().size();
  if (body.too_large()) return AnswerTooLarge(what);
  if (!res) return TransportError(res.error(), what);
  if (!body.ok()) return StatusFromHttp(body.status(), body.text());
  if (body.text().empty()) return json::object();
  Result<json> j = ParseJson(body.text(), 64);
  if (!j.ok()) return Invalid("the server at " + url_ + " sent malformed JSON for " + what);
  return j;
}

namespace {

httplib::Request MakeRequest(const char* method, const std::string& path) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  return req;
}

httplib::Request WithBody(httplib::Request req, std::string body, const std::string& type) {
  req.body = std::move(body);
  req.set_header("Content-Type", type);
  return req;
}

}  // namespace

Result<json> HttpClient::Get(const std::string& path) {
  return Exchange(MakeRequest("GET", path));
}

Result<json> HttpClient::Post(const std::string& path, const json& body) {
  return Exchange(WithBody(MakeRequest("POST", path), body.dump(), "application/json"));
}

Result<json> HttpClient::Put(const std::string& path, const json& body) {
  return Exchange(WithBody(MakeRequest("PUT", path), body.dump(), "application/json"));
}

Result<json> HttpClient::Delete(const std::string& path) {
  return Exchange(MakeRequest("DELETE", path));
}

Result<json> HttpClient::PutBytes(const std::string& path, std::string_view bytes,
                                  const std::string& content_type) {
  return Exchange(WithBody(MakeRequest("PUT", path), std::string(bytes), content_type));
}

Status HttpClient::PostForStream(const std::string& path, const json& body,
                                 const std::function<Status(std::string_view)>& sink,
                                 const std::string& accept) {
  httplib::Request req = WithBody(MakeRequest("POST", path), body.dump(), "application/json");
  if (!accept.empty()) req.set_header("Accept", accept);
  return Stream(std::move(req), sink);
}

Status HttpClient::GetStream(const std::string& path,
                             const std::function<Status(std::string_view)>& sink) {
  return Stream(MakeRequest("GET", path), sink);
}

Status HttpClient::Stream(httplib::Request req,
                          const std::function<Status(std::string_view)>& sink) {
  std::string what = Describe(req.method, req.path);
  bool streaming = false;  // a 2xx answer streams to `sink`
  BoundedBody error;       // any other is read (boundedly) for its JSON error
  Status sink_status;
  last_headers_.clear();
  sent_ += req.body.size();
  req.response_handler = [&](const httplib::Response& r) {
    last_headers_ = r.headers;
    streaming = r.status >= 200 && r.status < 300;
    return streaming || error.Start(r);
  };
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    if (!streaming) return error.Add(data, len);
    sink_status = sink(std::string_view(data, len));
    return sink_status.ok();
  };
  httplib::Result res = client_->send(req);
  if (!sink_status.ok()) return sink_status;
  if (error.too_large()) return AnswerTooLarge(what);
  if (!res) return TransportError(res.error(), what);
  if (!streaming) return StatusFromHttp(error.status(), error.text());
  return Status::Ok();
}

Result<json> HttpClient::PostStreamed(
    const std::string& path, const std::string& content_type,
    const std::function<Status(const Writer&, bool* done)>& producer) {
  // What httplib's Post(path, ContentProviderWithoutLength, type) builds,
  // built here so that the answer goes through Exchange's bounded reader.
  httplib::Request req = MakeRequest("POST", path);
  req.set_header("Content-Type", content_type);
  req.set_header("Transfer-Encoding", "chunked");
  Status produce_status;
  req.is_chunked_content_provider_ = true;
  req.content_provider_ = [&](size_t, size_t, httplib::DataSink& sink) {
    bool done = false;
    Writer write = [&](std::string_view bytes) {
      sent_ += bytes.size();
      return sink.write(bytes.data(), bytes.size());
    };
    produce_status = producer(write, &done);
    if (!produce_status.ok()) return false;
    if (done) sink.done();
    return true;
  };
  Result<json> answer = Exchange(std::move(req));
  if (!produce_status.ok()) return produce_status;
  return answer;
}

std::string HttpClient::Escape(std::string_view segment) {
  return PercentEncode(segment);
}

}  // namespace converge

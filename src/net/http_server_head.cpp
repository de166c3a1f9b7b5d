#include "net/http_server_head.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace converge {

namespace {

bool IsOws(char c) {
  return c == ' ' || c == '\t';
}

// RFC 9110 5.6.2: the characters of a header name.
bool IsTchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool NameIs(std::string_view name, const char* want) {
  return name.size() == std::char_traits<char>::length(want) &&
         ::strncasecmp(name.data(), want, name.size()) == 0;
}

// A client's value quoted into a message, when it is short plain text.
std::string Quoted(std::string_view v) {
  if (v.size() > 40) return "";
  for (char c : v)
    if (c < 0x20 || c > 0x7e) return "";
  return " '" + std::string(v) + "'";
}

// Every line ends in CRLF; no bare CR or LF, no NUL.
std::string CheckBytes(std::string_view head) {
  for (size_t i = 0; i < head.size(); i++) {
    char c = head[i];
    if (c == '\0') return "the request head contains a NUL byte";
    if (c == '\r' && (i + 1 == head.size() || head[i + 1] != '\n'))
      return "the request head contains a CR not followed by LF";
    if (c == '\n' && (i == 0 || head[i - 1] != '\r'))
      return "a line of the request head ends in a bare LF; lines must end in CRLF";
  }
  return "";
}

std::vector<std::string_view> Lines(std::string_view head) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < head.size();) {
    size_t end = head.find("\r\n", start);
    if (end == std::string_view::npos) end = head.size();
    lines.push_back(head.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

// Content-Length: digits only, within 2^64 - 1.
bool ParseLength(std::string_view v, uint64_t* out) {
  if (v.empty()) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  *out = n;
  return true;
}

// The framing headers seen so far.
struct Framing {
  int lengths = 0, encodings = 0;
  uint64_t length = 0;
};

// Checks one header line; "" when it is acceptable.
std::string CheckHeader(std::string_view line, Framing& f) {
  if (IsOws(line.front()))
    return "a header line begins with whitespace (obsolete line folding is not accepted)";
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return "a header line has no colon";
  std::string_view name = line.substr(0, colon), value = TrimOws(line.substr(colon + 1));
  if (name.empty()) return "a header line has no name before its colon";
  for (char c : name)
    if (!IsTchar(c))
      return "a header name contains a character not allowed in one (whitespace before the "
             "colon is not accepted)";
  if (NameIs(name, "Content-Length")) {
    if (++f.lengths > 1)
      return "the request has more than one Content-Length header; send exactly one";
    if (!ParseLength(value, &f.length))
      return "the Content-Length" + Quoted(value) +
             " is not a whole number of bytes (digits only, at most 2^64 - 1)";
  } else if (NameIs(name, "Transfer-Encoding")) {
    if (++f.encodings > 1) return "the request has more than one Transfer-Encoding header";
    if (!NameIs(value, "chunked"))
      return "the Transfer-Encoding" + Quoted(value) +
             " is not supported; the only one accepted is 'chunked'";
  }
  return "";
}

}  // namespace

RequestHead CheckRequestHead(std::string_view head) {
  RequestHead out;
  out.error = CheckBytes(head);
  if (!out.error.empty()) return out;
  std::vector<std::string_view> lines = Lines(head);
  if (lines.empty()) {
    out.error = "the request head is empty";
    return out;
  }
  // The request line is httplib's to judge; only its version matters here.
  std::string_view request_line = lines[0];
  std::string_view version = request_line.substr(request_line.rfind(' ') + 1);
  out.text.reserve(head.size());
  out.text.append(request_line).append("\r\n");
  Framing f;
  for (size_t i = 1; i < lines.size(); i++) {
    std::string_view line = lines[i];
    if (line.empty()) continue;  // the blank line at the end
    out.error = CheckHeader(line, f);
    if (!out.error.empty()) return out;
    std::string_view name = line.substr(0, line.find(':'));
    if (NameIs(name, "Range") || NameIs(name, "If-Range")) continue;
    out.text.append(line).append("\r\n");
  }
  out.text.append("\r\n");
  if (f.lengths > 0 && f.encodings > 0)
    out.error =
        "the request has both Content-Length and Transfer-Encoding, so its length is ambiguous; "
        "send one";
  else if (f.encodings > 0 && version == "HTTP/1.0")
    out.error = "Transfer-Encoding is not allowed in an HTTP/1.0 request";
  if (!out.error.empty()) return out;
  if (f.encodings > 0) {
    out.framing = BodyFraming::kChunked;
  } else if (f.lengths > 0) {
    out.framing = BodyFraming::kLength;
    out.length = f.length;
  }
  return out;
}

uint64_t ChunkedFraming::Want() const {
  if (state_ == State::kDone) return 0;
  return state_ == State::kData ? size_ : 1;
}

bool ChunkedFraming::Fail(std::string why) {
  state_ = State::kBad;
  error_ = "the chunked request body is malformed: " + std::move(why);
  return false;
}

bool ChunkedFraming::Feed(const char* data, size_t n) {
  constexpr size_t kMaxLine = 4096;
  for (size_t i = 0; i < n; i++) {
    char c = data[i];
    switch (state_) {
      case State::kSize:
      case State::kExt:
        if (++line_ > kMaxLine) return Fail("a chunk-size line is longer than 4 KiB");
        if (state_ == State::kSize && std::isxdigit(static_cast<unsigned char>(c))) {
          if (++digits_ > 16) return Fail("a chunk size has more than 16 hex digits");
          int v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
          size_ = size_ * 16 + static_cast<uint64_t>(v);
        } else if (digits_ == 0) {
          return Fail("a chunk-size line does not begin with a hex digit");
        } else if (c == '\r') {
          if (state_ == State::kExt && !ext_) return Fail("whitespace after a chunk size");
          state_ = State::kSizeLf;
        } else if (state_ == State::kSize && IsOws(c)) {
          state_ = State::kExt;  // whitespace, then an extension must follow
        } else if (c == ';') {
          state_ = State::kExt, ext_ = true;
        } else if (state_ == State::kExt && (ext_ || IsOws(c)) &&
                   (c == '\t' || (c >= 0x20 && c != 0x7f))) {
          // an extension's text, or whitespace before its ';'
        } else {
          return Fail("a chunk size is followed by something other than an extension");
        }
        break;
      case State::kSizeLf:
        if (c != '\n') return Fail("a chunk-size line has a CR not followed by LF");
        state_ = size_ == 0 ? State::kEndCr : State::kData;
        break;
      case State::kData: {
        uint64_t take = std::min<uint64_t>(size_, n - i);
        size_ -= take;
        i += static_cast<size_t>(take) - 1;
        if (size_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
      case State::kDataLf:
        if (c != (state_ == State::kDataCr ? '\r' : '\n'))
          return Fail("a chunk's data is not followed by CRLF (its size is wrong)");
        if (state_ == State::kDataCr) {
          state_ = State::kDataLf;
        } else {
          state_ = State::kSize, digits_ = 0, line_ = 0, ext_ = false;
        }
        break;
      case State::kEndCr:
        if (c != '\r') return Fail("trailer fields after the last chunk are not accepted");
        state_ = State::kEndLf;
        break;
      case State::kEndLf:
        if (c != '\n') return Fail("the last chunk is not followed by CRLF");
        state_ = State::kDone;
        return true;
      case State::kDone:
        return true;
      case State::kBad:
        return false;
    }
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace converge

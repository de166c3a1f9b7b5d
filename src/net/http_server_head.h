// What the server accepts as a request's framing, checked before cpp-httplib
// parses the request.
//
// httplib 0.11 is lenient exactly where two HTTP implementations must agree
// on where a request ends: of two Content-Length headers it takes the first,
// it reads "Transfer-Encoding: chunked, identity" by Content-Length, skips a
// header line ending in a bare LF, accepts "0x10" as a chunk size, ends a
// chunked body early when a chunk's data is not followed by CRLF, and reads a
// POST without any length until the connection closes. A proxy in front that
// reads such a request the other way lets one client's bytes be taken for
// another request (request smuggling). So the server refuses them (400, and
// the connection closes) instead:
//
// - a line not ending in CRLF, a bare CR, a NUL, a folded (indented) line, a
//   header line without a colon or with a name that is not a token
//   (whitespace before the colon);
// - more than one Content-Length (even equal ones) or Transfer-Encoding, a
//   Content-Length that is not digits only or is over 2^64 - 1, a
//   Transfer-Encoding other than exactly "chunked", both headers at once, or
//   Transfer-Encoding in an HTTP/1.0 request.
//
// A request with neither header has an empty body (RFC 9112 6.3). Range and
// If-Range are removed before httplib sees them: the server does not serve
// partial content, and answers such a request whole (200).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace converge {

enum class BodyFraming {
  kNone,     // no body
  kLength,   // Content-Length bytes
  kChunked,  // Transfer-Encoding: chunked
};

struct RequestHead {
  std::string error;  // why the head is refused (a 400); empty when accepted
  std::string text;   // the head to hand on: as received, minus Range and If-Range
  BodyFraming framing = BodyFraming::kNone;
  uint64_t length = 0;  // with kLength
};

// `head` is a request line and header lines through the blank line that ends
// them ("\r\n\r\n").
RequestHead CheckRequestHead(std::string_view head);

// `s` without the optional whitespace (spaces and tabs) HTTP allows around a
// header value or a list element.
std::string_view TrimOws(std::string_view s);

// Follows a chunked body as it passes and refuses bad framing: a chunk-size
// line is 1 to 16 hex digits, then optional extensions (";..."), then CRLF;
// each chunk's data is followed by CRLF; the last chunk ("0") by CRLF alone
// (trailer fields are refused). A chunk-size line is at most 4 KiB.
class ChunkedFraming {
 public:
  // Takes the next `n` body bytes. False once the framing is wrong (see
  // error()); bytes after the end of the body are not looked at.
  bool Feed(const char* data, size_t n);
  bool done() const { return state_ == State::kDone; }
  // How many bytes may be read next without reading past the body: the rest
  // of a chunk's data, else one (framing is read a byte at a time), 0 at the end.
  uint64_t Want() const;
  const std::string& error() const { return error_; }

 private:
  enum class State { kSize, kExt, kSizeLf, kData, kDataCr, kDataLf, kEndCr, kEndLf, kDone, kBad };
  bool Fail(std::string why);

  State state_ = State::kSize;
  uint64_t size_ = 0;  // of the chunk being read; its data left in kData
  int digits_ = 0;
  bool ext_ = false;  // a ';' began an extension on this chunk-size line
  size_t line_ = 0;  // bytes of the current chunk-size line
  std::string error_;
};

}  // namespace converge

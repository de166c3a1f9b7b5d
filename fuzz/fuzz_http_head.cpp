// The server's request-head check and chunked-body follower
// (net/http_server_head.h) on the same bytes. Checked: an accepted head's
// text is accepted again unchanged with the same framing and has no Range;
// the chunked follower gives the same verdict fed whole, a byte at a time,
// or in the pieces Want() asks for, and Want() never asks past the body's end.
#include <strings.h>

#include <string>

#include "fuzz_check.h"
#include "net/http_server_head.h"

using namespace converge;

namespace {

void CheckHead(std::string_view input) {
  RequestHead h = CheckRequestHead(input);
  if (!h.error.empty()) return;
  RequestHead again = CheckRequestHead(h.text);
  FUZZ_CHECK(again.error.empty(), "an accepted head's text is refused: " + again.error);
  FUZZ_CHECK(again.text == h.text, "an accepted head's text changes when checked again");
  FUZZ_CHECK(again.framing == h.framing && again.length == h.length, "the framing changed");
  for (size_t at = 0; (at = h.text.find("\r\n", at)) != std::string::npos; at += 2) {
    FUZZ_CHECK(::strncasecmp(h.text.c_str() + at + 2, "Range:", 6) != 0 &&
                   ::strncasecmp(h.text.c_str() + at + 2, "If-Range:", 9) != 0,
               "a Range header was handed on");
  }
}

void CheckChunked(std::string_view body) {
  ChunkedFraming whole, bytewise, wanted;
  bool whole_ok = whole.Feed(body.data(), body.size());
  for (char c : body)
    if (!bytewise.Feed(&c, 1)) break;
  size_t used = 0;
  while (used < body.size() && wanted.Want() > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(wanted.Want(), body.size() - used));
    bool ok = wanted.Feed(body.data() + used, n);
    used += n;
    if (!ok) break;
  }
  FUZZ_CHECK(whole_ok == whole.error().empty(), "Feed's result and error() disagree");
  FUZZ_CHECK(whole.error() == bytewise.error() && whole.done() == bytewise.done(),
             "feeding a byte at a time changed the verdict");
  FUZZ_CHECK(whole.error() == wanted.error() && whole.done() == wanted.done(),
             "feeding what Want() asks changed the verdict");
  if (wanted.done()) FUZZ_CHECK(wanted.Want() == 0, "Want() asks for more after the end");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::Bytes(data, size);
  CheckHead(input);
  CheckChunked(input);
  return 0;
}

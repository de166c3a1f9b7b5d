#include "base/terminal_stream.h"

#include <string>

namespace converge {

TerminalStreamFilter::TerminalStreamFilter(std::ostream& stream)
    : stream_(stream), inner_(stream.rdbuf()) {
  stream_.rdbuf(this);
}

TerminalStreamFilter::~TerminalStreamFilter() {
  stream_.rdbuf(inner_);
  std::string rest = text_.Finish();
  inner_->sputn(rest.data(), static_cast<std::streamsize>(rest.size()));
  inner_->pubsync();
}

std::streamsize TerminalStreamFilter::xsputn(const char* s, std::streamsize n) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string safe = text_.Feed(std::string_view(s, static_cast<size_t>(n)));
  std::streamsize want = static_cast<std::streamsize>(safe.size());
  return inner_->sputn(safe.data(), want) == want ? n : 0;
}

TerminalStreamFilter::int_type TerminalStreamFilter::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  char ch = traits_type::to_char_type(c);
  return xsputn(&ch, 1) == 1 ? c : traits_type::eof();
}

int TerminalStreamFilter::sync() {
  return inner_->pubsync();
}

}  // namespace converge

#include "cmd/terminal.h"

#include <iostream>
#include <mutex>

#include "base/text.h"

namespace converge {

// Unbuffered: every write is escaped and handed on at once, so output keeps
// its order against the progress meter (which writes to fd 2 directly).
class TerminalGuard::Filter : public std::streambuf {
 public:
  explicit Filter(std::ostream& stream) : stream_(stream), inner_(stream.rdbuf()) {
    stream_.rdbuf(this);
  }
  ~Filter() override {
    stream_.rdbuf(inner_);
    std::string rest = text_.Finish();
    inner_->sputn(rest.data(), static_cast<std::streamsize>(rest.size()));
    inner_->pubsync();
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string safe = text_.Feed(std::string_view(s, static_cast<size_t>(n)));
    std::streamsize want = static_cast<std::streamsize>(safe.size());
    return inner_->sputn(safe.data(), want) == want ? n : 0;
  }
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    char ch = traits_type::to_char_type(c);
    return xsputn(&ch, 1) == 1 ? c : traits_type::eof();
  }
  int sync() override { return inner_->pubsync(); }

 private:
  std::ostream& stream_;
  std::streambuf* inner_;
  std::mutex mu_;
  TerminalText text_{/*keep_newlines=*/true};
};

TerminalGuard::TerminalGuard() : err_(std::make_unique<Filter>(std::cerr)) {}

TerminalGuard::~TerminalGuard() {
  std::cout.flush();
  out_.reset();
  err_.reset();
}

void TerminalGuard::GuardStdout() {
  if (!out_) out_ = std::make_unique<Filter>(std::cout);
}

std::string PublicationLine(const wire::Publication& p, bool with_lane, bool with_note) {
  std::string where = p.scope + "/" + p.gate + (with_lane ? "/" + p.lane : "");
  std::string line = ForTerminal(p.id.substr(0, 12)) + "  " + ForTerminal(p.created_at) + "  " +
                     ForTerminal(p.publisher) + "  " + ForTerminal(where) + "  snap " +
                     ForTerminal(p.snap.substr(0, 12));
  if (with_note && !p.note.empty()) line += "  " + ForTerminal(p.note);
  return line;
}

}  // namespace converge

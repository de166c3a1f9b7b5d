// A std::ostream made safe for a terminal: while a TerminalStreamFilter
// lives, everything written to its stream is escaped as ForTerminal
// (base/text.h) escapes it, but newlines pass, so the stream's lines stay
// lines. converge puts one on std::cout and std::cerr (cmd/terminal.h) to
// catch what a call site forgot to escape.
#pragma once

#include <mutex>
#include <ostream>
#include <streambuf>

#include "base/text.h"

namespace converge {

class TerminalStreamFilter : public std::streambuf {
 public:
  explicit TerminalStreamFilter(std::ostream& stream);
  // Restores the stream's own buffer, after the escaped form of an
  // incomplete character still held.
  ~TerminalStreamFilter() override;
  TerminalStreamFilter(const TerminalStreamFilter&) = delete;
  TerminalStreamFilter& operator=(const TerminalStreamFilter&) = delete;

 protected:
  // Unbuffered: every write is escaped and handed on at once, so output keeps
  // its order against writes that bypass the stream (the progress meter).
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int_type overflow(int_type c) override;
  int sync() override;

 private:
  std::ostream& stream_;
  std::streambuf* inner_;
  std::mutex mu_;
  TerminalText text_{/*keep_newlines=*/true};
};

}  // namespace converge

#include "cmd/terminal.h"

#include <iostream>

#include "base/text.h"

namespace converge {

TerminalGuard::TerminalGuard() : err_(std::make_unique<TerminalStreamFilter>(std::cerr)) {}

TerminalGuard::~TerminalGuard() {
  std::cout.flush();
  out_.reset();
  err_.reset();
}

void TerminalGuard::GuardStdout() {
  if (!out_) out_ = std::make_unique<TerminalStreamFilter>(std::cout);
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

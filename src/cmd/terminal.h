// What converge prints for people is text others wrote (snap messages, file
// names, notes, handles, whatever a server sends), so none of it reaches the
// terminal raw. Each command escapes the untrusted fields it prints with
// ForTerminal (base/text.h), which also shows a newline as "\x0a" so one field
// cannot fake another line; and while a command runs, std::cout (unless it
// prints --json, which PrintJson escapes itself) and std::cerr pass through a
// TerminalGuard (base/terminal_stream.h) that escapes whatever a forgotten
// call site let through, so a control byte, a C1 control or a bidi override
// never reaches the terminal.
#pragma once

#include <memory>
#include <string>

#include "base/terminal_stream.h"
#include "api/wire.h"

namespace converge {

class TerminalGuard {
 public:
  TerminalGuard();   // guards std::cerr
  ~TerminalGuard();  // flushes and restores both streams
  TerminalGuard(const TerminalGuard&) = delete;
  TerminalGuard& operator=(const TerminalGuard&) = delete;

  // Guards std::cout too (not under --json: JSON's escapes are its own).
  void GuardStdout();

 private:
  std::unique_ptr<TerminalStreamFilter> err_, out_;
};

// A publication as one line of `fetch`, `publications` and `status`:
// "ID12  TIME  PUBLISHER  SCOPE/GATE[/LANE]  snap SNAP12[  NOTE]", every field escaped.
std::string PublicationLine(const wire::Publication& p, bool with_lane, bool with_note);

}  // namespace converge

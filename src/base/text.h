// Text helpers: UTF-8 validation, RFC 3339 timestamps, and quoting for messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace converge {

bool IsValidUtf8(std::string_view s);

// The current UTC time as "2026-11-25T21:56:44Z".
std::string NowRfc3339();
// The current UTC time with microseconds, "2026-11-25T21:56:44.123456Z":
// server timestamps, where order within a second matters.
std::string NowRfc3339Micros();
int64_t NowUnixMillis();

// Text someone else wrote (a snap message, a file name, a publication note,
// anything a server sends) made safe to show on a terminal: nothing in it can
// move the cursor, clear the screen, set the clipboard or title (ESC, CSI,
// OSC), reorder what is shown (bidi overrides) or break a line.
//   - C0 controls (U+0000-U+001F, newline and tab included) and DEL: "\x1b";
//   - bytes that are not UTF-8 (stray, truncated or overlong): "\xff" each;
//   - C1 controls (U+0080-U+009F), the bidi controls U+061C, U+200E, U+200F,
//     U+202A-U+202E, U+2066-U+2069, and the line and paragraph separators
//     U+2028, U+2029: "\u{202e}".
// Everything else passes unchanged: any other UTF-8 (Japanese, emoji with
// their joiners) and the backslash itself, so the result of text that needs
// no escaping is that text.
std::string ForTerminal(std::string_view s);

// Whether ForTerminal shows code point `cp` (at or past U+0080) as \u{...}.
bool IsTerminalControl(uint32_t cp);

// ForTerminal for a stream written in pieces (converge's stdout and stderr):
// a UTF-8 character cut between two pieces is held until the next one.
// `keep_newlines`: '\n' passes, for output that is already laid out in lines.
class TerminalText {
 public:
  explicit TerminalText(bool keep_newlines) : keep_newlines_(keep_newlines) {}
  // The escaped form of `piece`, less a character cut at its end.
  std::string Feed(std::string_view piece);
  // The bytes still held, escaped (an incomplete character is not UTF-8).
  std::string Finish();

 private:
  bool keep_newlines_;
  std::string held_;
};

// Text someone else wrote made safe inside HTML (the web view), element
// content and quoted attribute values alike: first shown as ForTerminal
// shows it (controls, bidi overrides and bytes that are not UTF-8 become
// visible escapes), then & < > " ' as character references. With
// `multiline`, newlines and tabs pass (a file's text in a <pre>). The one
// HTML escaping function: every string a page shows goes through it.
std::string HtmlEscape(std::string_view s, bool multiline = false);

// Percent-encodes every byte but A-Z a-z 0-9 - . _ ~: a URL path segment or
// query value (the client's request paths, the web view's links).
std::string PercentEncode(std::string_view s);

// A byte string shown safely in an error message: quoted, escaped as
// ForTerminal does.
std::string Quote(std::string_view s);

// `s` without the spaces, tabs, CRs and newlines at either end (a key file
// as an editor saves it).
std::string_view TrimSpace(std::string_view s);

}  // namespace converge

#include "base/text.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace converge {

namespace {

constexpr int kCut = -1;

// The UTF-8 character starting at s[i] (a byte >= 0x80): its length, with its
// code point in *cp; 0 if s[i] does not start a valid one; kCut if `s` ends
// inside one that is valid so far.
int DecodeAt(std::string_view s, size_t i, uint32_t* cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int len;
  if ((c & 0xE0) == 0xC0) {
    len = 2, *cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, *cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, *cp = c & 0x07;
  } else {
    return 0;
  }
  for (int k = 1; k < len; k++) {
    if (i + k >= s.size()) return kCut;
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    *cp = *cp << 6 | (cc & 0x3F);
  }
  // Reject overlong forms, surrogates and code points past U+10FFFF.
  if ((len == 2 && *cp < 0x80) || (len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000) ||
      *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
    return 0;
  return len;
}

void AppendByteEscape(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  out += buf;
}

// Escapes `s` onto `out` and answers how many bytes it took: all of them, or
// all but a character cut at the end when `hold_cut`.
size_t AppendForTerminal(std::string& out, std::string_view s, bool keep_newlines, bool hold_cut) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && !(keep_newlines && c == '\n')) || c == 0x7f)
        AppendByteEscape(out, c);
      else
        out += static_cast<char>(c);
      i++;
      continue;
    }
    uint32_t cp = 0;
    int len = DecodeAt(s, i, &cp);
    if (len == kCut && hold_cut) return i;
    if (len <= 0) {
      AppendByteEscape(out, c);  // the bytes after it are looked at afresh
      i++;
      continue;
    }
    if (IsTerminalControl(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u{%x}", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(s.data() + i, static_cast<size_t>(len));
    }
    i += static_cast<size_t>(len);
  }
  return i;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      i++;
      continue;
    }
    uint32_t cp;
    int len = DecodeAt(s, i, &cp);
    if (len <= 0) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

bool IsTerminalControl(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string HtmlEscape(std::string_view s, bool multiline) {
  std::string visible;
  if (!multiline) {
    visible = ForTerminal(s);
  } else {
    // Escape each run between newlines and tabs; the separators pass.
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); i++) {
      if (i < s.size() && s[i] != '\n' && s[i] != '\t') continue;
      AppendForTerminal(visible, s.substr(start, i - start), false, false);
      if (i < s.size()) visible += s[i];
      start = i + 1;
    }
  }
  std::string out;
  out.reserve(visible.size());
  for (char c : visible) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string ForTerminal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendForTerminal(out, s, /*keep_newlines=*/false, /*hold_cut=*/false);
  return out;
}

std::string TerminalText::Feed(std::string_view piece) {
  std::string out;
  if (held_.empty()) {
    size_t took = AppendForTerminal(out, piece, keep_newlines_, true);
    held_.assign(piece.substr(took));
    return out;
  }
  std::string text = std::move(held_) + std::string(piece);
  size_t took = AppendForTerminal(out, text, keep_newlines_, true);
  held_ = text.substr(took);
  return out;
}

std::string TerminalText::Finish() {
  std::string out;
  AppendForTerminal(out, held_, keep_newlines_, false);
  held_.clear();
  return out;
}

static std::string FormatUtc(std::chrono::system_clock::time_point tp, bool micros) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(tp);
  std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (micros) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(tp - secs).count();
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(us));
    out += buf;
  }
  return out + "Z";
}

std::string NowRfc3339() {
  return FormatUtc(std::chrono::system_clock::now(), false);
}
std::string NowRfc3339Micros() {
  return FormatUtc(std::chrono::system_clock::now(), true);
}

int64_t NowUnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Quote(std::string_view s) {
  return "'" + ForTerminal(s) + "'";
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace converge

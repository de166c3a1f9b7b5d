#include "base/json.h"

#include <cstdio>

#include "base/text.h"

namespace converge {

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out.push_back(kHex[(c >> 4) & 0xf]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

int JsonDepth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{')
      deepest = std::max(deepest, ++depth);
    else if (c == ']' || c == '}') {
      if (--depth < 0) return -1;
    }
  }
  return depth == 0 ? deepest : -1;
}

Result<nlohmann::json> ParseJson(std::string_view text, int max_depth) {
  // nlohmann stops at a NUL byte as at the end of the input, so bytes after
  // one go unparsed, and unbalanced ones there would hide any nesting before
  // them from JsonDepth. JSON text never holds a raw NUL.
  if (text.find('\0') != std::string_view::npos) return Invalid("malformed JSON (a NUL byte)");
  int depth = JsonDepth(text);
  if (depth < 0) return Invalid("malformed JSON (unbalanced brackets)");
  if (depth > max_depth)
    return Invalid("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid("malformed JSON");
  return j;
}

std::string DumpForTerminal(const nlohmann::json& j, int indent) {
  std::string text = j.dump(indent);
  std::string out;
  out.reserve(text.size());
  // dump() writes valid UTF-8 with every byte >= 0x80 inside a string, so a
  // lead byte always starts a character and its escape stays inside the string.
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = c;
    if (len == 2) cp = (c & 0x1Fu) << 6 | (text[i + 1] & 0x3Fu);
    if (len == 3) cp = (c & 0x0Fu) << 12 | (text[i + 1] & 0x3Fu) << 6 | (text[i + 2] & 0x3Fu);
    if (cp == 0x7F || (len > 1 && len < 4 && IsTerminalControl(cp))) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(text, i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace converge

#include "server/names.h"

#include <string>

#include "base/text.h"

namespace converge {

namespace {
bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool IsRefChar(char c) {
  return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-' || c == '/';
}
}  // namespace

Status ValidateHandle(std::string_view h) {
  bool ok = !h.empty() && h.size() <= 39 && IsLowerAlnum(h[0]);
  for (char c : h) ok = ok && (IsLowerAlnum(c) || c == '-');
  if (!ok)
    return Invalid(
        "user handle " + Quote(h) +
        " is not valid: use 1 to 39 of a-z 0-9 and '-', starting with a letter or digit");
  return Status::Ok();
}

Status ValidateRefName(std::string_view n, const char* what) {
  std::string rule = std::string(what) + " name " + Quote(n) + " is not valid: ";
  if (n.empty() || n.size() > 100) return Invalid(rule + "use 1 to 100 characters");
  for (char c : n)
    if (!IsRefChar(c)) return Invalid(rule + "use only a-z A-Z 0-9 . _ - /");
  if (n[0] == '.' || n[0] == '/' || n[0] == '-')
    return Invalid(rule + "it may not start with '.', '/' or '-'");
  if (n.back() == '/') return Invalid(rule + "it may not end with '/'");
  if (n.find("//") != std::string_view::npos) return Invalid(rule + "it may not contain '//'");
  size_t start = 0;
  while (start <= n.size()) {
    size_t end = n.find('/', start);
    if (end == std::string_view::npos) end = n.size();
    if (n.substr(start, end - start) == "..") return Invalid(rule + "it may not contain '..'");
    start = end + 1;
  }
  return Status::Ok();
}

Status ValidateRepoName(std::string_view name) {
  RETURN_IF_ERROR(ValidateRefName(name, "repo"));
  if (name.find('/') != std::string_view::npos)
    return Invalid("repo name " + Quote(name) + " is not valid: it may not contain '/'");
  return Status::Ok();
}

Status ValidateText(std::string_view text, const char* what, size_t max_bytes, bool multiline) {
  if (text.size() > max_bytes)
    return Invalid(std::string(what) + " is " + std::to_string(text.size()) +
                   " bytes long; the limit is " + std::to_string(max_bytes));
  if (!IsValidUtf8(text)) return Invalid(std::string(what) + " is not valid UTF-8");
  for (unsigned char c : text) {
    bool allowed = c >= 0x20 && c != 0x7f;
    if (multiline && (c == '\n' || c == '\t')) allowed = true;
    if (!allowed)
      return Invalid(std::string(what) + " " + Quote(text.substr(0, 80)) +
                     " contains a control character");
  }
  return Status::Ok();
}

}  // namespace converge

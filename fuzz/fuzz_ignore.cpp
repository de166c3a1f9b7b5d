// IgnoreRules: Parse() the input up to its first "\n%%\n" line, then ask
// Ignored() about each line after it as a path (empty components dropped),
// as a file and as a directory. Checked, for every path:
// - nothing inside an ignored directory is re-included (the header's rule);
// - the same rules with each plain letter or digit written as a one-byte
//   class ("a" -> "[a]") answer the same: the literal fast paths and the
//   last-byte index agree with the general glob matcher;
// - "*" appended ignores every path, "!*" appended re-includes every path;
// - a copy answers like the original.
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "workspace/ignore.h"

using namespace converge;

namespace {

constexpr std::string_view kSeparator = "\n%%\n";

bool Plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// The rules with every letter and digit bracketed, on lines made only of
// letters, digits and "*./!-_" (elsewhere brackets or escapes could be open).
std::string Bracketed(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    bool simple = line.find_first_not_of(
                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*./!-_") ==
                  std::string_view::npos;
    for (char c : line) {
      if (simple && Plain(c)) {
        out += '[';
        out += c;
        out += ']';
      } else {
        out += c;
      }
    }
    out += '\n';
  }
  return out;
}

// "a//b/" -> "a/b": the form Ignored() is specified for.
std::string CleanPath(std::string_view raw) {
  std::string out;
  size_t at = 0;
  while (at <= raw.size()) {
    size_t slash = std::min(raw.find('/', at), raw.size());
    std::string_view part = raw.substr(at, slash - at);
    if (!part.empty()) {
      if (!out.empty()) out += '/';
      out += part;
    }
    at = slash + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::Bytes(data, size);
  size_t sep = input.find(kSeparator);
  std::string_view text = input.substr(0, sep);
  std::string_view rest =
      sep == std::string_view::npos ? std::string_view() : input.substr(sep + kSeparator.size());

  IgnoreRules rules = IgnoreRules::Parse(text);
  IgnoreRules bracketed = IgnoreRules::Parse(Bracketed(text));
  IgnoreRules all = IgnoreRules::Parse(std::string(text) + "\n*\n");
  IgnoreRules none = IgnoreRules::Parse(std::string(text) + "\n!*\n");
  IgnoreRules copy = rules;
  FUZZ_CHECK(!rules.Ignored("", true) && !rules.Ignored("", false), "the root is ignored");

  int budget = 64;  // paths per input, so one input stays fast
  while (!rest.empty() && budget-- > 0) {
    size_t eol = rest.find('\n');
    std::string path = CleanPath(rest.substr(0, eol));
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    if (path.empty()) continue;
    for (bool is_dir : {false, true}) {
      bool ignored = rules.Ignored(path, is_dir);
      FUZZ_CHECK(copy.Ignored(path, is_dir) == ignored, "a copy answers differently: " + path);
      FUZZ_CHECK(bracketed.Ignored(path, is_dir) == ignored,
                 "bracketing letters changed the answer for " + path);
      FUZZ_CHECK(all.Ignored(path, is_dir), "\"*\" last does not ignore " + path);
      FUZZ_CHECK(!none.Ignored(path, is_dir), "\"!*\" last does not re-include " + path);
      for (size_t slash = path.find('/'); slash != std::string::npos;
           slash = path.find('/', slash + 1))
        if (rules.Ignored(path.substr(0, slash), true))
          FUZZ_CHECK(ignored, "a path inside an ignored directory is not ignored: " + path);
    }
  }
  return 0;
}

// Path matching for .convergeignore files, with gitignore semantics
// (https://git-scm.com/docs/gitignore). Patterns are compiled once by Parse()
// so that Ignored(), which runs for every path of a large tree, neither
// re-parses nor allocates.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace converge {

// Patterns from a .convergeignore file, with gitignore semantics.
class IgnoreRules {
 public:
  IgnoreRules() = default;
  // Parses the text of an ignore file. Never fails: a line that cannot be a
  // valid pattern (e.g. an unterminated '[') is treated as git treats it.
  static IgnoreRules Parse(std::string_view text);
  // `path` is relative to the workspace root, '/'-separated, no leading or
  // trailing slash, e.g. "src/a/b.o". `is_dir` says whether it names a directory.
  // True when the last matching pattern is a non-negated one.
  // The caller walks the tree top-down and does not descend into ignored
  // directories, so (as in git) a file inside an ignored directory cannot be
  // re-included by a later "!" pattern: Ignored() itself must ALSO return true
  // for such a path when asked directly (check parent directories first).
  bool Ignored(std::string_view path, bool is_dir) const;
  bool empty() const { return patterns_.empty(); }

 private:
  // One byte-level element of a compiled glob.
  struct Atom {
    enum Kind : uint8_t { kByte, kAny, kClass, kStar };
    Kind kind = kByte;
    unsigned char byte = 0;  // kByte
    uint16_t cls = 0;        // kClass: index into Pattern::classes
  };
  // The atoms between two '/' of a pattern; no atom ever matches '/', so
  // pattern segments line up one-to-one with path components, except for a
  // "**" segment, which stands for zero or more whole components.
  struct Segment {
    uint32_t begin = 0;  // [begin, end) in Pattern::atoms
    uint32_t end = 0;
    bool any_dirs = false;
  };
  struct Pattern {
    // How to match: the literal kinds are the fast paths for the patterns
    // real ignore files are made of ("node_modules", "*.o", "/build").
    enum Kind : uint8_t {
      kBaseLiteral,  // basename == literal
      kBaseSuffix,   // "*literal": basename ends with literal
      kBasePrefix,   // "literal*": basename starts with literal
      kBaseGlob,     // segments[0] against the basename
      kPathLiteral,  // whole path == literal
      kPathGlob,     // segments against the path's components
    };
    Kind kind = kBaseLiteral;
    bool negated = false;
    bool dir_only = false;
    std::string literal;
    std::vector<Atom> atoms;
    std::vector<Segment> segments;
    std::vector<std::bitset<256>> classes;
  };

  static bool Compile(std::string_view line, Pattern* out);
  static bool CompileGlob(std::string_view body, bool anchored, Pattern* out);
  static void ChooseFastPath(bool anchored, Pattern* p);
  static bool MatchSegment(const Pattern& p, const Segment& seg, std::string_view name);
  static bool MatchPath(const Pattern& p, std::string_view path);
  static bool Matches(const Pattern& p, std::string_view path, std::string_view base);
  static std::bitset<256> LastBytes(const Pattern& p);
  void BuildIndex();
  bool LastMatchIgnores(std::string_view path, bool is_dir) const;

  // For each byte, the indices (last pattern first) of the patterns that can
  // match a name ending in that byte, so most names meet one or two patterns
  // instead of all of them.
  struct ByLastByte {
    std::vector<uint32_t> ids;
    std::array<uint32_t, 257> start{};  // ids[start[b], start[b + 1])
  };

  std::vector<Pattern> patterns_;
  ByLastByte index_[2];  // [is_dir]: dir-only patterns are left out of [0]
};

}  // namespace converge

#include "workspace/ignore.h"

#include <algorithm>

namespace converge {
namespace {

using ByteSet = std::bitset<256>;

// POSIX classes are ASCII-only and locale-independent, as in git.
bool IsAlpha(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool IsDigit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool IsGraph(unsigned char c) {
  return c > 0x20 && c < 0x7f;
}

// Adds "[:name:]" to `set`. An unknown name makes git reject the whole
// pattern, so the caller drops it.
bool AddNamedClass(std::string_view name, ByteSet* set) {
  using Uc = unsigned char;
  struct Named {
    std::string_view name;
    bool (*test)(unsigned char);
  };
  static constexpr Named kNamed[] = {
      {"alnum", [](Uc c) { return IsAlpha(c) || IsDigit(c); }},
      {"alpha", IsAlpha},
      {"blank", [](Uc c) { return c == ' ' || c == '\t'; }},
      {"cntrl", [](Uc c) { return c < 0x20 || c == 0x7f; }},
      {"digit", IsDigit},
      {"graph", IsGraph},
      {"lower", [](Uc c) { return c >= 'a' && c <= 'z'; }},
      {"print", [](Uc c) { return c == ' ' || IsGraph(c); }},
      {"punct", [](Uc c) { return IsGraph(c) && !IsAlpha(c) && !IsDigit(c); }},
      {"space", [](Uc c) { return c == ' ' || (c >= '\t' && c <= '\r'); }},
      {"upper", [](Uc c) { return c >= 'A' && c <= 'Z'; }},
      {"xdigit", [](Uc c) { return IsDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }},
  };
  for (const Named& n : kNamed) {
    if (n.name != name) continue;
    for (int c = 0; c < 256; ++c) {
      if (n.test(static_cast<unsigned char>(c))) set->set(c);
    }
    return true;
  }
  return false;
}

// If body[j] opens "[:name:]", returns the index of its closing ']'; else npos.
size_t NamedClassEnd(std::string_view body, size_t j) {
  if (j + 1 >= body.size() || body[j + 1] != ':') return std::string_view::npos;
  size_t close = body.find(']', j + 2);
  // "[:]" and "[:x]" are not named classes: their '[' is an ordinary member.
  if (close == std::string_view::npos || close <= j + 2 || body[close - 1] != ':') {
    return std::string_view::npos;
  }
  return close;
}

// Parses the bracket expression opening at body[*pos]; on success *pos is
// just past its ']'. An unterminated or malformed class fails, and git then
// never matches the pattern. '/' is never a member: in gitignore a class
// cannot match the separator.
bool ParseClass(std::string_view body, size_t* pos, ByteSet* set) {
  size_t j = *pos + 1;
  const bool negated = j < body.size() && (body[j] == '!' || body[j] == '^');
  if (negated) ++j;
  int prev = -1;  // the last single member: the low end of a possible range
  for (bool first = true;; first = false) {
    if (j >= body.size()) return false;
    const unsigned char c = body[j];
    if (c == ']' && !first) break;  // a leading ']' is a member
    if (c == '\\') {
      if (++j >= body.size()) return false;
      prev = static_cast<unsigned char>(body[j++]);
      set->set(prev);
    } else if (c == '-' && prev >= 0 && j + 1 < body.size() && body[j + 1] != ']') {
      unsigned char hi = body[++j];
      if (hi == '\\') {
        if (++j >= body.size()) return false;
        hi = body[j];
      }
      ++j;
      for (int b = prev; b <= hi; ++b) set->set(b);
      prev = -1;
    } else if (size_t close = NamedClassEnd(body, j); close != std::string_view::npos) {
      if (!AddNamedClass(body.substr(j + 2, close - 1 - (j + 2)), set)) return false;
      j = close + 1;
      prev = -1;
    } else {
      set->set(c);
      prev = c;
      ++j;
    }
  }
  *pos = j + 1;
  if (negated) set->flip();
  set->reset('/');
  return true;
}

// git's trailing-space rule: unescaped trailing spaces go (tabs stay).
std::string_view TrimTrailingSpaces(std::string_view line) {
  size_t keep = line.size();
  bool in_spaces = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == ' ') {
      if (!in_spaces) keep = i;
      in_spaces = true;
      continue;
    }
    if (line[i] == '\\') ++i;  // the escaped char, even a space, is kept
    in_spaces = false;
    keep = line.size();
  }
  return in_spaces ? line.substr(0, keep) : line;
}

// Path component starting at `at`; `*next` is where the following one
// starts, or path.size() + 1 after the last.
std::string_view Component(std::string_view path, size_t at, size_t* next) {
  size_t slash = path.find('/', at);
  if (slash == std::string_view::npos) slash = path.size();
  *next = slash + 1;
  return path.substr(at, slash - at);
}

}  // namespace

IgnoreRules IgnoreRules::Parse(std::string_view text) {
  IgnoreRules rules;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    // A C-string pattern in git ends at NUL; so does ours.
    line = line.substr(0, line.find('\0'));
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    Pattern p;
    if (Compile(TrimTrailingSpaces(line), &p)) rules.patterns_.push_back(std::move(p));
  }
  rules.BuildIndex();
  return rules;
}

// False for a line that can never match anything; dropping it is
// indistinguishable from keeping it.
bool IgnoreRules::Compile(std::string_view line, Pattern* out) {
  if (line.starts_with('!')) {
    out->negated = true;
    line.remove_prefix(1);
  }
  if (line.ends_with('/')) {
    out->dir_only = true;
    line.remove_suffix(1);
  }
  // Any other slash anchors the pattern to the root; without one it matches
  // the basename at any depth.
  const bool anchored = line.find('/') != std::string_view::npos;
  if (line.starts_with('/')) line.remove_prefix(1);
  if (line.empty() || !CompileGlob(line, anchored, out)) return false;
  ChooseFastPath(anchored, out);
  return true;
}

bool IgnoreRules::CompileGlob(std::string_view body, bool anchored, Pattern* out) {
  std::vector<Atom>& atoms = out->atoms;
  std::vector<Segment>& segs = out->segments;
  segs.push_back({});
  auto next_segment = [&] {
    segs.back().end = static_cast<uint32_t>(atoms.size());
    segs.push_back({static_cast<uint32_t>(atoms.size()), 0, false});
  };
  for (size_t i = 0; i < body.size();) {
    const char c = body[i];
    if (c == '/') {
      next_segment();
      ++i;
    } else if (c == '\\') {
      if (i + 1 == body.size()) return false;  // escapes nothing: never matches
      if (body[i + 1] == '/') {
        next_segment();
      } else {
        atoms.push_back({Atom::kByte, static_cast<unsigned char>(body[i + 1]), 0});
      }
      i += 2;
    } else if (c == '?') {
      atoms.push_back({Atom::kAny, 0, 0});
      ++i;
    } else if (c == '[') {
      ByteSet set;
      if (out->classes.size() == UINT16_MAX || !ParseClass(body, &i, &set)) return false;
      out->classes.push_back(set);
      atoms.push_back({Atom::kClass, 0, static_cast<uint16_t>(out->classes.size() - 1)});
    } else if (c == '*') {
      size_t run_end = std::min(body.find_first_not_of('*', i), body.size());
      std::string_view rest = body.substr(run_end);
      // "**" is special only as a whole component; elsewhere it is "*".
      const bool whole = segs.back().begin == atoms.size() &&
                         (rest.empty() || rest[0] == '/' || rest.starts_with("\\/"));
      if (anchored && run_end - i >= 2 && whole) {
        segs.back().any_dirs = true;
      } else {
        atoms.push_back({Atom::kStar, 0, 0});
      }
      i = run_end;
    } else {
      atoms.push_back({Atom::kByte, static_cast<unsigned char>(c), 0});
      ++i;
    }
  }
  segs.back().end = static_cast<uint32_t>(atoms.size());
  // A trailing "/**" needs something inside: "abc/**" does not match "abc".
  // Spell it as one component of anything ("*") followed by "**".
  if (segs.back().any_dirs) {
    segs.back().any_dirs = false;
    atoms.push_back({Atom::kStar, 0, 0});
    segs.back().end = static_cast<uint32_t>(atoms.size());
    next_segment();
    segs.back().any_dirs = true;
  }
  return true;
}

void IgnoreRules::ChooseFastPath(bool anchored, Pattern* p) {
  const std::vector<Atom>& atoms = p->atoms;
  const size_t n = atoms.size();
  size_t stars = 0;
  size_t plain = 0;
  for (const Atom& a : atoms) {
    stars += a.kind == Atom::kStar;
    plain += a.kind == Atom::kByte;
  }
  auto append = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) p->literal.push_back(static_cast<char>(atoms[i].byte));
  };
  if (anchored) {
    const bool literal = plain == n && std::none_of(p->segments.begin(), p->segments.end(),
                                                    [](const Segment& s) { return s.any_dirs; });
    p->kind = literal ? Pattern::kPathLiteral : Pattern::kPathGlob;
    for (size_t k = 0; literal && k < p->segments.size(); ++k) {
      if (k > 0) p->literal.push_back('/');
      append(p->segments[k].begin, p->segments[k].end);
    }
  } else if (plain == n) {
    p->kind = Pattern::kBaseLiteral;
    append(0, n);
  } else if (stars == 1 && plain == n - 1 && atoms.front().kind == Atom::kStar) {
    p->kind = Pattern::kBaseSuffix;
    append(1, n);
  } else if (stars == 1 && plain == n - 1 && atoms.back().kind == Atom::kStar) {
    p->kind = Pattern::kBasePrefix;
    append(0, n - 1);
  } else {
    p->kind = Pattern::kBaseGlob;
  }
}

// One path component against one pattern segment. Since '*' cannot cross a
// component, retrying from the most recent '*' is enough: no exponential
// backtracking.
bool IgnoreRules::MatchSegment(const Pattern& p, const Segment& seg, std::string_view name) {
  size_t pi = seg.begin;
  size_t ni = 0;
  size_t star = SIZE_MAX;  // atom index just after the last '*' seen
  size_t star_ni = 0;      // where that '*' currently stops absorbing
  while (ni < name.size()) {
    if (pi < seg.end) {
      const Atom& a = p.atoms[pi];
      const unsigned char c = name[ni];
      if (a.kind == Atom::kStar) {
        star = ++pi;
        star_ni = ni;
        continue;
      }
      if ((a.kind == Atom::kByte && a.byte == c) || a.kind == Atom::kAny ||
          (a.kind == Atom::kClass && p.classes[a.cls].test(c))) {
        ++pi;
        ++ni;
        continue;
      }
    }
    if (star == SIZE_MAX) return false;
    pi = star;
    ni = ++star_ni;
  }
  while (pi < seg.end && p.atoms[pi].kind == Atom::kStar) ++pi;
  return pi == seg.end;
}

// The same retry-from-the-last-wildcard scheme one level up: "**" segments
// are the wildcards and path components the characters.
bool IgnoreRules::MatchPath(const Pattern& p, std::string_view path) {
  const size_t done = path.size() + 1;
  const size_t nsegs = p.segments.size();
  size_t si = 0;
  size_t at = 0;
  size_t star = SIZE_MAX;  // segment index just after the last "**"
  size_t star_at = 0;      // component where that "**" currently stops
  while (at != done) {
    if (si < nsegs && p.segments[si].any_dirs) {
      star = ++si;
      star_at = at;
      continue;
    }
    size_t next = 0;
    std::string_view name = Component(path, at, &next);
    if (si < nsegs && MatchSegment(p, p.segments[si], name)) {
      ++si;
      at = next;
      continue;
    }
    if (star == SIZE_MAX) return false;
    si = star;
    Component(path, star_at, &star_at);
    at = star_at;
  }
  while (si < nsegs && p.segments[si].any_dirs) ++si;
  return si == nsegs;
}

bool IgnoreRules::Matches(const Pattern& p, std::string_view path, std::string_view base) {
  switch (p.kind) {
    case Pattern::kBaseLiteral:
      return base == p.literal;
    case Pattern::kBaseSuffix:
      return base.ends_with(p.literal);
    case Pattern::kBasePrefix:
      return base.starts_with(p.literal);
    case Pattern::kBaseGlob:
      return MatchSegment(p, p.segments.front(), base);
    case Pattern::kPathLiteral:
      return path == p.literal;
    case Pattern::kPathGlob:
      return MatchPath(p, path);
  }
  return false;
}

// The bytes a path matched by `p` can end with; all of them when unsure.
std::bitset<256> IgnoreRules::LastBytes(const Pattern& p) {
  std::bitset<256> bytes;
  const Segment& seg = p.segments.back();
  const Atom* last = seg.begin < seg.end && !seg.any_dirs ? &p.atoms[seg.end - 1] : nullptr;
  if (p.kind == Pattern::kBasePrefix || !last || last->kind == Atom::kAny ||
      last->kind == Atom::kStar) {
    bytes.set();
  } else if (last->kind == Atom::kClass) {
    bytes = p.classes[last->cls];
  } else {
    bytes.set(last->byte);
  }
  return bytes;
}

void IgnoreRules::BuildIndex() {
  std::vector<std::bitset<256>> last(patterns_.size());
  for (size_t i = 0; i < patterns_.size(); ++i) last[i] = LastBytes(patterns_[i]);
  for (int is_dir = 0; is_dir < 2; ++is_dir) {
    ByLastByte& idx = index_[is_dir];
    idx.ids.clear();
    for (int b = 0; b < 256; ++b) {
      idx.start[b] = static_cast<uint32_t>(idx.ids.size());
      for (size_t i = patterns_.size(); i-- > 0;) {
        if (last[i].test(b) && (is_dir || !patterns_[i].dir_only)) {
          idx.ids.push_back(static_cast<uint32_t>(i));
        }
      }
    }
    idx.start[256] = static_cast<uint32_t>(idx.ids.size());
  }
}

bool IgnoreRules::LastMatchIgnores(std::string_view path, bool is_dir) const {
  const size_t slash = path.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const ByLastByte& idx = index_[is_dir ? 1 : 0];
  const unsigned char last = path.back();
  for (uint32_t k = idx.start[last]; k < idx.start[last + 1]; ++k) {
    const Pattern& p = patterns_[idx.ids[k]];
    if (Matches(p, path, base)) return !p.negated;
  }
  return false;
}

bool IgnoreRules::Ignored(std::string_view path, bool is_dir) const {
  if (patterns_.empty() || path.empty()) return false;
  // git never looks inside an excluded directory, so nothing in it can be
  // re-included; the same answer must come back when asked directly.
  for (size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    if (LastMatchIgnores(path.substr(0, slash), true)) return true;
  }
  return LastMatchIgnores(path, is_dir);
}

}  // namespace converge

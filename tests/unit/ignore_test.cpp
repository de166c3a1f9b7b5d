#include "workspace/ignore.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace converge {
namespace {

constexpr bool kDir = true;
constexpr bool kFile = false;

struct IgnoreCase {
  const char* name;  // the gtest parameter name
  std::string rules;
  std::string path;
  bool is_dir;
  bool ignored;
};

void PrintTo(const IgnoreCase& c, std::ostream* os) {
  *os << c.name << ": rules=\"" << c.rules << "\" path=\"" << c.path << "\""
      << (c.is_dir ? " (dir)" : " (file)");
}

// Expected answers follow gitignore(5); all but one were cross-checked with
// `git check-ignore` (git 2.39) on a real tree. The exception is marked below.
const std::vector<IgnoreCase> kCases = {
    // gitignore(5): "frotz/" vs "doc/frotz/".
    {"DocFrotzMatchesAtRoot", "doc/frotz/", "doc/frotz", kDir, true},
    {"DocFrotzIsAnchored", "doc/frotz/", "a/doc/frotz", kDir, false},
    {"DocFrotzContents", "doc/frotz/", "doc/frotz/x/y.txt", kFile, true},
    {"FrotzSlashAtRoot", "frotz/", "frotz", kDir, true},
    {"FrotzSlashAtAnyDepth", "frotz/", "a/b/frotz", kDir, true},
    {"FrotzSlashNotAFile", "frotz/", "a/frotz", kFile, false},
    {"FooSlashContents", "foo/", "foo/bar/baz.c", kFile, true},
    // "hello.*" and "/hello.*".
    {"HelloStarAnyDepth", "hello.*", "src/hello.c", kFile, true},
    {"HelloStarAnchoredElsewhere", "/hello.*", "src/hello.c", kFile, false},
    {"HelloStarAnchoredRoot", "/hello.*", "hello.txt", kFile, true},
    // "foo/*": direct children only, but a matched child dir hides its contents.
    {"FooStarFile", "foo/*", "foo/test.json", kFile, true},
    {"FooStarDir", "foo/*", "foo/bar", kDir, true},
    {"FooStarDeepViaParent", "foo/*", "foo/bar/hello.c", kFile, true},
    {"FooStarNotDeepItself", "foo/*\n!foo/bar/", "foo/bar/hello.c", kFile, false},
    {"FooStarIsAnchored", "foo/*", "a/foo/x", kFile, false},
    {"FooStarNotFooItself", "foo/*", "foo", kDir, false},
    // "Documentation/*.html".
    {"DocHtmlDirect", "Documentation/*.html", "Documentation/git.html", kFile, true},
    {"DocHtmlNotSubdir", "Documentation/*.html", "Documentation/ppc/ppc.html", kFile, false},
    {"DocHtmlNotNested", "Documentation/*.html", "tools/perf/Documentation/perf.html", kFile,
     false},
    // "Exclude everything except directory foo/bar".
    {"OnlyFooBarKeepsFooBar", "/*\n!/foo\n/foo/*\n!/foo/bar", "foo/bar", kDir, false},
    {"OnlyFooBarKeepsItsContents", "/*\n!/foo\n/foo/*\n!/foo/bar", "foo/bar/a/b.c", kFile, false},
    {"OnlyFooBarKeepsFoo", "/*\n!/foo\n/foo/*\n!/foo/bar", "foo", kDir, false},
    {"OnlyFooBarDropsSibling", "/*\n!/foo\n/foo/*\n!/foo/bar", "foo/baz", kFile, true},
    {"OnlyFooBarDropsSiblingContents", "/*\n!/foo\n/foo/*\n!/foo/bar", "foo/baz/x", kFile, true},
    {"OnlyFooBarDropsTopLevel", "/*\n!/foo\n/foo/*\n!/foo/bar", "top.txt", kFile, true},
    // Leading "**/".
    {"LeadingStarStarAtRoot", "**/foo", "foo", kFile, true},
    {"LeadingStarStarDeep", "**/foo", "a/b/foo", kDir, true},
    {"LeadingStarStarWholeName", "**/foo", "a/xfoo", kFile, false},
    {"LeadingStarStarTwoParts", "**/foo/bar", "x/y/foo/bar", kFile, true},
    {"LeadingStarStarTwoPartsAtRoot", "**/foo/bar", "foo/bar", kFile, true},
    {"LeadingStarStarTwoPartsAdjacent", "**/foo/bar", "foo/x/bar", kFile, false},
    // Trailing "/**".
    {"TrailingStarStarChild", "abc/**", "abc/x", kFile, true},
    {"TrailingStarStarDeep", "abc/**", "abc/x/y/z", kFile, true},
    {"TrailingStarStarNotSelf", "abc/**", "abc", kDir, false},
    {"TrailingStarStarIsAnchored", "abc/**", "z/abc/x", kFile, false},
    {"TrailingStarStarReincludeSelf", "abc/**\n!abc/keep", "abc/keep", kFile, false},
    // "a/**/b".
    {"MiddleStarStarZeroDirs", "a/**/b", "a/b", kFile, true},
    {"MiddleStarStarOneDir", "a/**/b", "a/x/b", kFile, true},
    {"MiddleStarStarTwoDirs", "a/**/b", "a/x/y/b", kFile, true},
    {"MiddleStarStarWrongLeaf", "a/**/b", "a/x/c", kFile, false},
    {"MiddleStarStarNeedsA", "a/**/b", "b", kFile, false},
    {"MiddleStarStarWholeLeaf", "a/**/b", "a/x/bb", kFile, false},
    {"MiddleStarStarBacktracks", "a/**/b/c", "a/b/x/b/c", kFile, true},
    {"TwoStarStars", "a/**/b/**/c", "a/1/b/2/3/c", kFile, true},
    // Other consecutive asterisks are a plain "*", as documented. git itself
    // deviates when such a "**" is the pattern's first wildcard and is followed
    // by '/': it then matches "a/xy/z/b" too. We keep the documented meaning.
    {"StarStarInNameIsStar", "foo**bar", "dir/fooXYbar", kFile, true},
    {"StarStarInComponentNoSlash", "a/x**/b", "a/xy/b", kFile, true},
    {"StarStarInComponentStopsAtSlash", "a/x**/b", "a/xy/z/b", kFile, false},
    {"StarStarAloneMatchesAll", "**", "a/b/c", kFile, true},
    {"AnchoredStarStarMatchesAll", "/**", "a/b", kFile, true},
    // "*.html" + "!foo.html".
    {"NegationOtherHtml", "*.html\n!foo.html", "x.html", kFile, true},
    {"NegationReincludes", "*.html\n!foo.html", "foo.html", kFile, false},
    {"NegationReincludesDeep", "*.html\n!foo.html", "sub/foo.html", kFile, false},
    {"NegationOrderMatters", "!foo.html\n*.html", "foo.html", kFile, true},
    {"NegationWithoutExclusion", "!foo", "foo", kFile, false},
    // A file in an excluded directory cannot be re-included.
    {"NoReincludeUnderDirSlash", "build/\n!build/keep.txt", "build/keep.txt", kFile, true},
    {"NoReincludeUnderDirName", "build\n!build/keep.txt", "build/keep.txt", kFile, true},
    {"NoReincludeUnderDeepDir", "out/\n!*.txt", "a/out/b/keep.txt", kFile, true},
    {"ReincludeUnderDirStar", "build/*\n!build/keep.txt", "build/keep.txt", kFile, false},
    {"ReincludeDirsOnly", "*\n!*/", "src", kDir, false},
    {"ReincludeDirsOnlyFiles", "*\n!*/", "src/a.c", kFile, true},
    // Comments, blank lines, escapes, whitespace.
    {"CommentLine", "#foo", "#foo", kFile, false},
    {"HashInsideIsLiteral", "a#b", "a#b", kFile, true},
    {"EscapedHash", "\\#foo", "#foo", kFile, true},
    {"EscapedBang", "\\!important", "!important", kFile, true},
    {"EscapedBangNotNegation", "*\n\\!important", "!important", kFile, true},
    {"BlankLines", "\n\n   \n\t\n", "x", kFile, false},
    {"BlankLinesBetween", "\n\nfoo\n\n", "foo", kFile, true},
    {"TrailingSpacesTrimmed", "foo   ", "foo", kFile, true},
    {"EscapedTrailingSpaceKept", "foo\\ ", "foo ", kFile, true},
    {"EscapedTrailingSpaceNotTrimmed", "foo\\ ", "foo", kFile, false},
    {"SpaceAfterEscapedSpaceTrimmed", "foo\\  ", "foo ", kFile, true},
    {"TrailingTabKept", "foo\t", "foo", kFile, false},
    {"CrlfLines", "foo\r\nbar\r\n", "bar", kFile, true},
    {"CrlfWithTrailingSpaces", "bar  \r\n", "bar", kFile, true},
    {"NoFinalNewline", "a\nb", "b", kFile, true},
    {"Utf8Bom", "\xEF\xBB\xBF*.o", "x.o", kFile, true},
    {"EscapedStar", "\\*", "*", kFile, true},
    {"EscapedStarIsLiteral", "\\*", "a", kFile, false},
    {"TrailingBackslashNeverMatches", "foo\\", "foo", kFile, false},
    // Directory-only patterns.
    {"DirOnlyNotFile", "logs/", "logs", kFile, false},
    {"DirOnlyDir", "logs/", "logs", kDir, true},
    {"DirOnlyNegatedFileUnaffected", "*.d\n!x.d/", "x.d", kFile, true},
    {"DirOnlyStarStar", "a/**/b/", "a/x/b", kFile, false},
    // Character classes and '?'.
    {"ClassRange", "file[0-9].txt", "file7.txt", kFile, true},
    {"ClassRangeMiss", "file[0-9].txt", "filex.txt", kFile, false},
    {"ClassSet", "*.[oa]", "lib.a", kFile, true},
    {"ClassSetMiss", "*.[oa]", "x.c", kFile, false},
    {"ClassNegatedBang", "file[!0-9]", "filex", kFile, true},
    {"ClassNegatedBangMiss", "file[!0-9]", "file1", kFile, false},
    {"ClassNegatedCaret", "file[^0-9]", "filex", kFile, true},
    {"ClassNegatedCaretMiss", "file[^0-9]", "file1", kFile, false},
    {"ClassBracketFirst", "[]]x", "]x", kFile, true},
    {"ClassNegatedBracketFirst", "[!]]x", "ax", kFile, true},
    {"ClassDashLast", "[a-]x", "-x", kFile, true},
    {"ClassDashFirst", "[-a]x", "-x", kFile, true},
    {"ClassEscapedBracket", "[\\]]x", "]x", kFile, true},
    {"ClassNeverMatchesSlash", "a[/]b", "a/b", kFile, false},
    {"ClassNegatedNeverMatchesSlash", "a[!x]b", "a/b", kFile, false},
    {"ClassPosixDigit", "[[:digit:]]*", "9lives", kFile, true},
    {"ClassPosixDigitMiss", "[[:digit:]]*", "lives", kFile, false},
    {"ClassPosixUnknown", "[[:bogus:]]", "b", kFile, false},
    {"ClassMultipleRanges", "[a-cx-z]", "y", kFile, true},
    {"QuestionOneChar", "?.c", "a.c", kFile, true},
    {"QuestionNotTwo", "?.c", "ab.c", kFile, false},
    {"QuestionNotEmpty", "?.c", ".c", kFile, false},
    {"QuestionNotSlash", "/a?b", "a/b", kFile, false},
    {"StarNotSlash", "a/*.c", "a/b/c.c", kFile, false},
    {"StarMatchesDotfile", "*", ".hidden", kFile, true},
    {"StarMatchesEmpty", "foo*", "foo", kFile, true},
    {"StarBacktracks", "*a*b*c", "xaxbxaxc", kFile, true},
    {"StarBacktracksMiss", "*a*b*c", "xaxcxb", kFile, false},
    // Unterminated '[' never matches, and spoils only its own line.
    {"UnterminatedClass", "foo[", "foo[", kFile, false},
    {"UnterminatedClassWithMembers", "[abc", "[abc", kFile, false},
    {"UnterminatedClassOtherLinesWork", "x\nfoo[", "x", kFile, true},
    {"UnterminatedNegatedBracket", "[!]", "!", kFile, false},
    {"EscapedOpenBracket", "foo\\[", "foo[", kFile, true},
    // Anchoring.
    {"LeadingSlashAnchors", "/build", "src/build", kDir, false},
    {"LeadingSlashAtRoot", "/build", "build", kDir, true},
    {"MiddleSlashAnchors", "src/gen", "x/src/gen", kDir, false},
    {"MiddleSlashAtRoot", "src/gen", "src/gen", kDir, true},
    // Deep paths, bytes, case.
    {"DeepLiteral", "node_modules", "a/b/c/d/e/node_modules/x/y.js", kFile, true},
    {"DeepSuffix", "*.o", "very/deep/tree/of/many/dirs/obj.o", kFile, true},
    {"DeepAnchoredParent", "/a/b/c/d", "a/b/c/d/e/f/g", kFile, true},
    {"DeepNoMatch", "*.o", "a/b.o.c/d/e.c", kFile, false},
    {"SuffixNeedsWholeSuffix", "*.o", "o", kFile, false},
    {"SuffixDotOnly", "*.o", ".o", kFile, true},
    {"PrefixPattern", "tmp*", "x/tmpfile", kFile, true},
    {"CaseSensitive", "Makefile", "makefile", kFile, false},
    {"Utf8Literal", "r\xC3\xA9sum\xC3\xA9.txt", "docs/r\xC3\xA9sum\xC3\xA9.txt", kFile, true},
    {"Utf8QuestionIsOneByte", "caf?", "caf\xC3\xA9", kFile, false},
    {"Utf8TwoQuestions", "caf??", "caf\xC3\xA9", kFile, true},
};

class IgnoreTableTest : public ::testing::TestWithParam<IgnoreCase> {};

TEST_P(IgnoreTableTest, Matches) {
  const IgnoreCase& c = GetParam();
  IgnoreRules rules = IgnoreRules::Parse(c.rules);
  EXPECT_EQ(rules.Ignored(c.path, c.is_dir), c.ignored);
}

INSTANTIATE_TEST_SUITE_P(IgnoreGitignore, IgnoreTableTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<IgnoreCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(IgnoreRulesTest, DefaultIsEmptyAndIgnoresNothing) {
  IgnoreRules rules;
  EXPECT_TRUE(rules.empty());
  EXPECT_FALSE(rules.Ignored("anything", false));
}

TEST(IgnoreRulesTest, CommentsAndBlanksLeaveRulesEmpty) {
  EXPECT_TRUE(IgnoreRules::Parse("").empty());
  EXPECT_TRUE(IgnoreRules::Parse("# comment\n\n   \n#another\r\n").empty());
  EXPECT_FALSE(IgnoreRules::Parse("# comment\nfoo\n").empty());
}

TEST(IgnoreRulesTest, EmptyPathIsNeverIgnored) {
  EXPECT_FALSE(IgnoreRules::Parse("*\n/**\n").Ignored("", true));
}

TEST(IgnoreRulesTest, ParentChecksUseLastMatchPerDirectory) {
  // "a" is excluded then re-included, so its contents are judged on their own.
  IgnoreRules rules = IgnoreRules::Parse("a/\n!a/\n*.tmp\n");
  EXPECT_FALSE(rules.Ignored("a", true));
  EXPECT_FALSE(rules.Ignored("a/b.c", false));
  EXPECT_TRUE(rules.Ignored("a/b.tmp", false));
  EXPECT_TRUE(rules.Ignored("x.tmp/inside.c", false));
}

TEST(IgnoreRulesTest, CopiesAreIndependent) {
  IgnoreRules original = IgnoreRules::Parse("*.o\n");
  IgnoreRules copy = original;
  original = IgnoreRules::Parse("!*.o\n");
  EXPECT_TRUE(copy.Ignored("x.o", false));
  EXPECT_FALSE(original.Ignored("x.o", false));
}

TEST(IgnoreRulesTest, PathologicalStarsStayFast) {
  IgnoreRules rules = IgnoreRules::Parse("*a*a*a*a*a*a*a*a*a*b\n**/**/**/**/**/z\n");
  std::string name(4000, 'a');
  EXPECT_FALSE(rules.Ignored(name, false));
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += "d/";
  EXPECT_FALSE(rules.Ignored(deep + "y", false));
  EXPECT_TRUE(rules.Ignored(deep + "z", false));
}

TEST(IgnoreRulesTest, ManyPathsAgainstTypicalRules) {
  IgnoreRules rules = IgnoreRules::Parse(
      "# build output\nbuild/\n*.o\n*.tmp\nnode_modules\n/dist\n.cache/\n!keep.o\n"
      "docs/**/*.pdf\n");
  int ignored = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string path = "src/mod" + std::to_string(i % 97) + "/file" + std::to_string(i);
    path += (i % 3 == 0) ? ".o" : ".cpp";
    if (rules.Ignored(path, false)) ++ignored;
  }
  EXPECT_EQ(ignored, 16667);
  EXPECT_FALSE(rules.Ignored("src/keep.o", false));
  EXPECT_TRUE(rules.Ignored("docs/a/b/manual.pdf", false));
  EXPECT_TRUE(rules.Ignored("docs/manual.pdf", false));
  EXPECT_FALSE(rules.Ignored("src/dist", true));
}

}  // namespace
}  // namespace converge

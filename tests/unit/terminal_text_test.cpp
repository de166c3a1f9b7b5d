// ForTerminal, TerminalText and DumpForTerminal (issue 11, item 6): every
// class of character a terminal acts on comes out escaped and visible; valid
// text of any script passes unchanged; --json keeps the exact value.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "base/json.h"
#include "base/terminal_stream.h"
#include "base/text.h"

namespace converge {
namespace {

// UTF-8 of code point `cp`.
std::string Utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | cp >> 6);
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | cp >> 12);
    s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | cp >> 18);
    s += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Whether `s` holds anything a terminal would act on: a C0 control but
// newline, DEL, a C1 control or bidi control (as UTF-8), or a byte that is
// not UTF-8.
bool HasTerminalControl(const std::string& s) {
  if (!IsValidUtf8(s)) return true;
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
  }
  for (uint32_t cp = 0x80; cp <= 0x2069; cp++)
    if (IsTerminalControl(cp) && s.find(Utf8(cp)) != std::string::npos) return true;
  return false;
}

TEST(ForTerminal, EveryC0ControlAndDelIsAByteEscape) {
  for (int c = 0; c < 0x20; c++) {
    char want[8];
    std::snprintf(want, sizeof want, "\\x%02x", c);
    EXPECT_EQ(ForTerminal(std::string(1, static_cast<char>(c))), want) << c;
  }
  EXPECT_EQ(ForTerminal("\x7f"), "\\x7f");
  EXPECT_EQ(ForTerminal("line one\nline two\ttab"), "line one\\x0aline two\\x09tab");
}

TEST(ForTerminal, TheIssuesMessageCannotClearTheScreenOrSetTheClipboard) {
  std::string hostile = "\x1b[2J\x1b[Hall tests passed\x1b]52;c;ZXZpbA==\x07";
  std::string shown = ForTerminal(hostile);
  EXPECT_EQ(shown, "\\x1b[2J\\x1b[Hall tests passed\\x1b]52;c;ZXZpbA==\\x07");
  EXPECT_FALSE(HasTerminalControl(shown));
}

TEST(ForTerminal, C1ControlsAreCodePointEscapes) {
  for (uint32_t cp = 0x80; cp <= 0x9F; cp++) {
    char want[16];
    std::snprintf(want, sizeof want, "\\u{%x}", cp);
    EXPECT_EQ(ForTerminal(Utf8(cp)), want) << cp;
  }
  EXPECT_EQ(ForTerminal("a" + Utf8(0x9B) + "31mred"), "a\\u{9b}31mred");  // CSI
}

TEST(ForTerminal, BidiControlsAndLineSeparatorsAreShownVisibly) {
  for (uint32_t cp : {0x061Cu, 0x200Eu, 0x200Fu, 0x2028u, 0x2029u, 0x202Au, 0x202Bu, 0x202Cu,
                      0x202Du, 0x202Eu, 0x2066u, 0x2067u, 0x2068u, 0x2069u}) {
    char want[16];
    std::snprintf(want, sizeof want, "\\u{%x}", cp);
    EXPECT_EQ(ForTerminal(Utf8(cp)), want) << cp;
    EXPECT_TRUE(IsTerminalControl(cp)) << cp;
  }
  // "invoice_" RLO "fdp.exe": looks like invoice_exe.pdf where shown raw.
  EXPECT_EQ(ForTerminal("invoice_" + Utf8(0x202E) + "fdp.exe"), "invoice_\\u{202e}fdp.exe");
  // Neighbours that are ordinary text stay.
  for (uint32_t cp : {0x200Bu, 0x200Cu, 0x200Du, 0x2027u, 0x202Fu, 0x2065u, 0x206Au, 0xA0u})
    EXPECT_EQ(ForTerminal(Utf8(cp)), Utf8(cp)) << cp;
}

TEST(ForTerminal, BytesThatAreNotUtf8AreByteEscapes) {
  EXPECT_EQ(ForTerminal("a\xff"
                        "b"),
            "a\\xffb");
  EXPECT_EQ(ForTerminal("\x80"), "\\x80");                             // a stray continuation byte
  EXPECT_EQ(ForTerminal("\xe2\x82"), "\\xe2\\x82");                    // cut short at the end
  EXPECT_EQ(ForTerminal("\xe2\x82z"), "\\xe2\\x82z");                  // cut short by a character
  EXPECT_EQ(ForTerminal("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(ForTerminal("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(ForTerminal("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  // A valid character right after an invalid byte survives.
  EXPECT_EQ(ForTerminal("\xff\xc3\xa9"), "\\xff\xc3\xa9");
  EXPECT_EQ(Quote("a\xff\n"), "'a\\xff\\x0a'");
  EXPECT_EQ(Quote(Utf8(0x202E)), "'\\u{202e}'");
}

TEST(ForTerminal, ValidTextPassesUnchanged) {
  for (std::string s : {std::string(""), std::string("plain ascii, punctuation: !@#$%^&*()"),
                        std::string("back\\slash and \"quotes\""),
                        std::string("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86"
                                    "\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88"),  // 日本語のテキスト
                        std::string("caf\xc3\xa9 \xe2\x82\xac \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"),
                        std::string("\xf0\x9f\x98\x80 \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9"
                                    "\xe2\x80\x8d\xf0\x9f\x91\xa7"),  // emoji, a ZWJ family
                        std::string("\xef\xbb\xbf"
                                    "bom")}) {
    EXPECT_EQ(ForTerminal(s), s) << s;
  }
}

TEST(ForTerminal, EscapingTwiceChangesNothingMore) {
  std::string all;
  for (int c = 0; c < 0x100; c++) all += static_cast<char>(c);
  for (uint32_t cp = 0x80; cp <= 0x2070; cp++) all += Utf8(cp);
  std::string once = ForTerminal(all);
  EXPECT_FALSE(HasTerminalControl(once));
  EXPECT_EQ(ForTerminal(once), once);
}

// The streams' filter gives what ForTerminal gives, however the text is cut
// into pieces, a character split between two pieces included.
TEST(TerminalText, PiecesGiveTheWholeTextsEscapes) {
  std::string text = "ok \xe6\x97\xa5 \x1b[2J " + Utf8(0x202E) + " \xf0\x9f\x98\x80 \x9b\xff end";
  for (size_t cut = 0; cut <= text.size(); cut++) {
    TerminalText t(/*keep_newlines=*/false);
    std::string out = t.Feed(text.substr(0, cut));
    out += t.Feed(text.substr(cut));
    out += t.Finish();
    EXPECT_EQ(out, ForTerminal(text)) << "cut at " << cut;
  }
  TerminalText byte_by_byte(false);
  std::string out;
  for (char c : text) out += byte_by_byte.Feed(std::string(1, c));
  EXPECT_EQ(out + byte_by_byte.Finish(), ForTerminal(text));
}

TEST(TerminalText, KeepsNewlinesWhenAskedAndEscapesACharacterLeftCut) {
  TerminalText lines(/*keep_newlines=*/true);
  EXPECT_EQ(lines.Feed("one\r\ntwo\n"), "one\\x0d\ntwo\n");
  EXPECT_EQ(lines.Feed("cut \xe2\x82"), "cut ");  // held: the rest may follow
  EXPECT_EQ(lines.Finish(), "\\xe2\\x82");        // it never did
}

// What a call site forgot to escape is escaped by the stream itself; lines
// stay lines; the stream gets its own buffer back.
TEST(TerminalStreamFilter, EscapesWhateverIsWrittenThroughIt) {
  std::ostringstream out;
  std::ostream& stream = out;
  std::streambuf* own = stream.rdbuf();
  {
    TerminalStreamFilter filter(out);
    out << "message: "
        << "\x1b[2Jall tests passed\x1b]52;c;ZXZpbA==\x07"
        << "\n";
    out << "name: " << std::string("a\xe2\x80")
        << std::string(
               "\xae"
               "b")
        << '\n';  // U+202E, cut
    out << 'x' << '\x1b' << std::flush;
    out << "cut at the end \xe6\x97";
  }
  EXPECT_EQ(stream.rdbuf(), own);
  EXPECT_EQ(out.str(),
            "message: \\x1b[2Jall tests passed\\x1b]52;c;ZXZpbA==\\x07\n"
            "name: a\\u{202e}b\n"
            "x\\x1bcut at the end \\xe6\\x97");
  out << "\x1b";  // after the filter is gone: raw again
  EXPECT_EQ(out.str().back(), '\x1b');
}

TEST(DumpForTerminal, NoRawControlAndTheSameValue) {
  std::string hostile = "\x1b[2J\x1b]52;c;x\x07 " + Utf8(0x9B) + Utf8(0x85) + Utf8(0x202E) +
                        Utf8(0x2066) + Utf8(0x2028) + Utf8(0x061C) + "\x7f tab\t nl\n" +
                        "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";
  nlohmann::json j = {{"message", hostile}, {"list", {hostile, "plain"}}};
  std::string text = DumpForTerminal(j, 2);
  EXPECT_FALSE(HasTerminalControl(text)) << text;
  EXPECT_NE(text.find("\\u202e"), std::string::npos) << text;
  EXPECT_NE(text.find("\\u009b"), std::string::npos) << text;
  EXPECT_NE(text.find("\\u007f"), std::string::npos) << text;
  EXPECT_NE(text.find("\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"), std::string::npos);
  nlohmann::json back = nlohmann::json::parse(text);
  EXPECT_EQ(back, j);
  EXPECT_EQ(back["message"].get<std::string>(), hostile);
  // Nothing to escape: exactly dump()'s text.
  nlohmann::json plain = {{"a", "caf\xc3\xa9"}, {"n", 1}};
  EXPECT_EQ(DumpForTerminal(plain, 2), plain.dump(2));
}

}  // namespace
}  // namespace converge

// Unit: which request heads and chunked bodies the server accepts
// (net/http_server_head.h).
#include <gtest/gtest.h>

#include "net/http_server_head.h"

namespace converge {
namespace {

const char kHeadLine[] = "POST /v1/repos HTTP/1.1\r\nHost: x\r\n";

RequestHead HeadOf(const std::string& headers, const char* line = kHeadLine) {
  return CheckRequestHead(std::string(line) + headers + "\r\n");
}

TEST(HttpHeadTest, PlainHeadsPassAsTheyAre) {
  RequestHead none = HeadOf("Accept: */*\r\n");
  EXPECT_EQ(none.error, "");
  EXPECT_EQ(none.framing, BodyFraming::kNone);
  EXPECT_EQ(none.text, std::string(kHeadLine) + "Accept: */*\r\n\r\n");

  RequestHead length = HeadOf("content-length:  0012 \r\n");
  EXPECT_EQ(length.error, "");
  EXPECT_EQ(length.framing, BodyFraming::kLength);
  EXPECT_EQ(length.length, 12u);
  EXPECT_EQ(HeadOf("Content-Length: 18446744073709551615\r\n").length, UINT64_MAX);

  RequestHead chunked = HeadOf("Transfer-Encoding: Chunked\r\n");
  EXPECT_EQ(chunked.error, "");
  EXPECT_EQ(chunked.framing, BodyFraming::kChunked);
}

TEST(HttpHeadTest, AmbiguousLengthsAreRefused) {
  EXPECT_NE(HeadOf("Content-Length: 5\r\nContent-Length: 7\r\n").error.find("more than one"),
            std::string::npos);
  EXPECT_NE(HeadOf("Content-Length: 5\r\ncontent-length: 5\r\n").error, "");
  for (const char* bad : {"-1", "+5", "5x", "0x5", "5, 5", "", "18446744073709551616",
                          "99999999999999999999999", "5 5", "%35"}) {
    RequestHead h = HeadOf("Content-Length: " + std::string(bad) + "\r\n");
    EXPECT_NE(h.error.find("Content-Length"), std::string::npos) << bad;
  }
  EXPECT_NE(HeadOf("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n").error.find("both"),
            std::string::npos);
  EXPECT_NE(HeadOf("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n").error, "");
  for (const char* te : {"chunked, identity", "identity", "gzip, chunked", "chunked;x=1",
                         "chunkedx", ""}) {
    RequestHead h = HeadOf("Transfer-Encoding: " + std::string(te) + "\r\n");
    EXPECT_NE(h.error.find("Transfer-Encoding"), std::string::npos) << te;
  }
  EXPECT_NE(HeadOf("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n").error, "");
  EXPECT_NE(HeadOf("Transfer-Encoding: chunked\r\n", "POST / HTTP/1.0\r\n").error.find("HTTP/1.0"),
            std::string::npos);
}

TEST(HttpHeadTest, BadLinesAreRefused) {
  EXPECT_NE(HeadOf("X-A: 1\nContent-Length: 5\r\n").error.find("bare LF"), std::string::npos);
  EXPECT_NE(HeadOf("X-A: 1\rContent-Length: 5\r\n").error.find("CR"), std::string::npos);
  EXPECT_NE(HeadOf(std::string("X-A: a\0b\r\n", 10)).error.find("NUL"), std::string::npos);
  EXPECT_NE(HeadOf("Content-Length : 5\r\n").error.find("whitespace"), std::string::npos);
  EXPECT_NE(HeadOf("X-A: 1\r\n folded\r\n").error.find("folding"), std::string::npos);
  EXPECT_NE(HeadOf("no colon here\r\n").error.find("colon"), std::string::npos);
  EXPECT_NE(HeadOf(": no name\r\n").error, "");
  EXPECT_NE(CheckRequestHead("GET / HTTP/1.1\n\r\n\r\n").error, "");
}

TEST(HttpHeadTest, RangeIsRemoved) {
  RequestHead h = HeadOf("Range: bytes=0-9\r\nAccept: */*\r\nif-range: \"x\"\r\n");
  EXPECT_EQ(h.error, "");
  EXPECT_EQ(h.text, std::string(kHeadLine) + "Accept: */*\r\n\r\n");
  EXPECT_EQ(HeadOf("Range: bytes=abc\r\n").error, "");
}

// Feeds `body` one byte at a time and whole; both must agree.
std::string ChunkedFault(const std::string& body, bool* done = nullptr) {
  ChunkedFraming whole, bytewise;
  whole.Feed(body.data(), body.size());
  for (char c : body)
    if (!bytewise.Feed(&c, 1)) break;
  EXPECT_EQ(whole.error(), bytewise.error()) << body;
  EXPECT_EQ(whole.done(), bytewise.done()) << body;
  if (done) *done = whole.done();
  return whole.error();
}

TEST(HttpHeadTest, ChunkedBodiesAreFollowed) {
  bool done = false;
  EXPECT_EQ(ChunkedFault("5\r\nhello\r\n0\r\n\r\n", &done), "");
  EXPECT_TRUE(done);
  EXPECT_EQ(ChunkedFault("5;name=value\r\nhello\r\nA \t;x\r\n0123456789\r\n000\r\n\r\n", &done),
            "");
  EXPECT_TRUE(done);
  EXPECT_EQ(ChunkedFault("5\r\nhel", &done), "");
  EXPECT_FALSE(done);

  // Bytes after the end are not the body's.
  ChunkedFraming f;
  std::string body = "0\r\n\r\nGET / HTTP/1.1\r\n";
  EXPECT_TRUE(f.Feed(body.data(), body.size()));
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.Want(), 0u);

  ChunkedFraming g;
  EXPECT_EQ(g.Want(), 1u);
  std::string head = "1f\r\n";
  g.Feed(head.data(), head.size());
  EXPECT_EQ(g.Want(), 31u);
}

TEST(HttpHeadTest, BadChunkedFramingIsRefused) {
  for (const char* bad : {"5\r\nhelloXX\r\n0\r\n\r\n", "0x5\r\nhello\r\n0\r\n\r\n",
                          " 5\r\nhello\r\n0\r\n\r\n", "+5\r\nhello\r\n0\r\n\r\n",
                          "5 \r\nhello\r\n0\r\n\r\n", "5 x\r\nhello\r\n0\r\n\r\n",
                          "5\nhello\r\n0\r\n\r\n", "\r\n", "g\r\n",
                          "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", "5\r\nhello\r\n0\r\n\rx",
                          "10000000000000000\r\n", "5;a\x01\r\nhello\r\n0\r\n\r\n"}) {
    std::string error = ChunkedFault(bad);
    EXPECT_NE(error.find("chunked request body is malformed"), std::string::npos) << bad;
  }
  EXPECT_NE(ChunkedFault("5;" + std::string(5000, 'e') + "\r\n").find("4 KiB"),
            std::string::npos);
}

}  // namespace
}  // namespace converge

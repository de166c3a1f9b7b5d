// A hostile server against the client's memory and patience (issue 11, items 8
// and 9): answers too large to hold (declared, streamed without end,
// compressed), and paged listings whose cursors never end. The built binary
// runs against a FakeServer; each attack must end in one clear error line,
// with the transfer stopped early and a bounded number of requests.
#include <gtest/gtest.h>

#include <atomic>

#include "support/fake_client.h"
#include "support/fake_server.h"
#include "support/people.h"
#include "support/process.h"

namespace converge::testing {
namespace {

using json = nlohmann::json;

constexpr uint64_t kMiB = 1 << 20;

// A JSON answer to whoami that a client reading it whole would accept: the
// real fields, then `pad` bytes of whitespace before the closing brace.
std::string PaddedWhoami(size_t pad) {
  wire::Whoami me{wire::User{7, "bob", false, "2026-01-01T00:00:00Z"}, "0123456789abcdef"};
  std::string doc = wire::ToJson(me).dump();
  doc.pop_back();  // the closing brace
  return doc + std::string(pad, ' ') + "}";
}

class HostileAnswersTest : public FakeServerClientTest {
 protected:
  // Serves `path` with `total` bytes of PaddedWhoami, streamed (chunked, or
  // with its Content-Length when `sized`), counting what it got to send.
  void ServeHuge(const std::string& path, uint64_t total, bool sized, int status = 200) {
    auto doc = std::make_shared<std::string>(PaddedWhoami(0));
    server_.Override(
        path, [this, doc, total, sized, status](const httplib::Request&, httplib::Response& res) {
          res.status = status;
          auto provide = [this, doc, total](size_t offset, httplib::DataSink& sink) {
            if (offset >= total) {
              sink.done();
              return true;
            }
            // The document's head, then blanks up to its closing brace.
            std::string piece;
            if (offset < doc->size() - 1)
              piece = doc->substr(offset, doc->size() - 1 - offset);
            else if (offset + 1 == total)
              piece = "}";
            else
              piece.assign(std::min<uint64_t>(total - 1 - offset, 1 << 16), ' ');
            if (!sink.write(piece.data(), piece.size())) return false;
            sent_ += piece.size();
            return true;
          };
          if (sized)
            res.set_content_provider(total, "application/json",
                                     [provide](size_t offset, size_t, httplib::DataSink& sink) {
                                       return provide(offset, sink);
                                     });
          else
            res.set_chunked_content_provider("application/json", provide);
        });
  }

  wire::Publication PublishedPublication() {
    std::string snap_bytes = "not fetched: the listing fails first";
    return FakeServer::MakePublication(ObjectId::Of(snap_bytes));
  }

  std::atomic<uint64_t> sent_{0};
};

// The issue's case: a whoami answer far past any honest one. Streamed without
// a length, the client stops reading at the cap; with a declared length it
// refuses before reading the body at all.
TEST_F(HostileAnswersTest, AHugeJsonAnswerIsRefusedWhileItArrives) {
  const uint64_t total = 256 * kMiB;
  for (bool sized : {false, true}) {
    SCOPED_TRACE(sized ? "with Content-Length" : "chunked");
    sent_ = 0;
    ServeHuge("/v1/whoami", total, sized);
    RunResult r = Run({"whoami"});
    ExpectError(r, "the server's answer to GET /v1/whoami is larger than 8 MiB");
    EXPECT_NE(r.err.find("a converge server?"), std::string::npos) << r.err;
    // Stopped long before the end (socket buffers hold a few MiB at most).
    EXPECT_LT(sent_.load(), 64 * kMiB);
  }
  // An honest answer just under the cap is read whole.
  server_.Override("/v1/whoami", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(PaddedWhoami(7 * kMiB), "application/json");
  });
  RunResult ok = Run({"whoami"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out.rfind("bob", 0), 0u) << ok.out;
}

// A small gzip body that inflates to 100 MiB: the cap counts what it
// inflates to, not what crossed the wire.
TEST_F(HostileAnswersTest, ACompressedAnswerIsCountedAsItInflates) {
  std::string head = PaddedWhoami(0);
  head.pop_back();
  RunOptions sh;
  sh.input = head;
  RunResult gz = converge::testing::Run(
      {"/bin/sh", "-c",
       "{ cat; head -c 104857600 /dev/zero | tr '\\000' ' '; printf '}'; } | gzip -1"},
      sh);
  ASSERT_EQ(gz.exit_code, 0) << gz.err;
  ASSERT_LT(gz.out.size(), 2 * kMiB);
  server_.Override("/v1/whoami", [&gz](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Encoding", "gzip");
    res.set_content(gz.out, "application/json");
  });
  ExpectError(Run({"whoami"}), "is larger than 8 MiB");
}

// Error answers are held in memory too: a huge one is cut off the same way,
// on a JSON call and on a streamed download alike.
TEST_F(HostileAnswersTest, AHugeErrorAnswerIsRefusedWhileItArrives) {
  ServeHuge("/v1/whoami", 256 * kMiB, false, 403);
  ExpectError(Run({"whoami"}), "the server's answer to GET /v1/whoami is larger than 8 MiB");
  EXPECT_LT(sent_.load(), 64 * kMiB);

  sent_ = 0;
  server_.Reset();
  server_.Publish(server_.Put(ObjectKind::kSnap, "any bytes: the fetch is refused"));
  std::string fetch = std::string("/v1/repos/") + FakeServer::kRepo + "/objects/fetch";
  ServeHuge(fetch, 256 * kMiB, false, 500);
  ExpectError(Run({"fetch"}), "the server's answer to POST " + fetch + " is larger than 8 MiB");
  EXPECT_LT(sent_.load(), 64 * kMiB);
}

// The issue's case: cursors that alternate "2", "1", "2", ... Every paging
// loop stops at the first repeat, after a handful of requests.
TEST_F(HostileAnswersTest, CursorsThatCycleAreRefused) {
  std::string pubs = std::string("/v1/repos/") + FakeServer::kRepo + "/publications";
  wire::Publication p = PublishedPublication();
  auto flip = std::make_shared<std::atomic<int>>(0);
  auto cursor = [flip] { return std::to_string(1 + (flip->fetch_add(1) + 1) % 2); };
  server_.Override(pubs, [p, cursor](const httplib::Request&, httplib::Response& res) {
    res.set_content(wire::ToJson(wire::PublicationPage{{p}, cursor()}).dump(), "application/json");
  });
  ExpectError(Run({"fetch"}), "does not advance: the server sent cursor '2' again");
  EXPECT_LE(server_.requests(pubs), 3);

  // The audit log, shown (asking for far more rows than the cycle holds)...
  std::string audit = std::string("/v1/repos/") + FakeServer::kRepo + "/audit";
  wire::AuditEntry e;
  e.seq = 5;
  e.at = "2026-01-02T03:04:05.000000Z";
  e.actor = "mallory";
  e.action = "publication.create";
  e.outcome = "ok";
  server_.Override(audit, [e, cursor](const httplib::Request&, httplib::Response& res) {
    res.set_content(wire::ToJson(wire::AuditPage{{e}, cursor()}).dump(), "application/json");
  });
  ExpectError(Run({"audit", "-n", "5000"}), "does not advance");
  EXPECT_LE(server_.requests(audit), 3);

  // ... and verified: that loop asks until the log ends, so it never would.
  server_.Override("/v1/audit/key", [](const httplib::Request&, httplib::Response& res) {
    wire::AuditKeyInfo k{"ed25519", std::string(64, 'a'), "ed25519:" + std::string(32, 'a')};
    res.set_content(wire::ToJson(k).dump(), "application/json");
  });
  server_.Override("/v1/audit/head", [](const httplib::Request&, httplib::Response& res) {
    wire::AuditHead h{1000, std::string(64, 'b'), std::string(64, 'a'), std::string(128, 'c')};
    res.set_content(wire::ToJson(h).dump(), "application/json");
  });
  server_.Override("/v1/audit", [e, cursor](const httplib::Request&, httplib::Response& res) {
    res.set_content(wire::ToJson(wire::AuditPage{{e}, cursor()}).dump(), "application/json");
  });
  RunResult verify = Run({"audit", "--verify"});
  EXPECT_EQ(verify.exit_code, 1) << verify.err;  // after a note that it trusts the key
  EXPECT_NE(verify.err.find("error: the audit log does not advance"), std::string::npos)
      << verify.err;
  EXPECT_LE(server_.requests("/v1/audit"), 4);
}

// Cursors that never repeat and never end: the page budget stops the
// listing. (The item and byte budgets are unit-tested in pager_test.cpp.)
TEST_F(HostileAnswersTest, CursorsThatNeverEndAreCutOffAtThePageBudget) {
  std::string pubs = std::string("/v1/repos/") + FakeServer::kRepo + "/publications";
  wire::Publication p = PublishedPublication();
  auto n = std::make_shared<std::atomic<int>>(0);
  server_.Override(pubs, [p, n](const httplib::Request&, httplib::Response& res) {
    std::string next = "page-" + std::to_string(++*n);
    res.set_content(wire::ToJson(wire::PublicationPage{{p}, next}).dump(), "application/json");
  });
  ExpectError(Run({"fetch"}), "runs past 10000 pages");
  EXPECT_EQ(server_.requests(pubs), 10000);
}

// One budget covers every lane's listing: a server that puts the user in
// 20,000 lanes cannot make `fetch` or `publications --remote` ask 20,000 times.
TEST_F(HostileAnswersTest, EndlessLanesShareOneBudget) {
  json lanes = json::array();
  for (int i = 0; i < 20000; i++)
    lanes.push_back({{"name", "l" + std::to_string(i)},
                     {"created_at", "2026-01-01T00:00:00Z"},
                     {"members", {"bob"}}});
  std::string lanes_path = std::string("/v1/repos/") + FakeServer::kRepo + "/lanes";
  std::string pubs = std::string("/v1/repos/") + FakeServer::kRepo + "/publications";
  std::string body = lanes.dump();
  server_.Override(lanes_path, [body](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  });
  server_.Override(pubs, [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"publications":[],"next":null})", "application/json");
  });
  ExpectError(Run({"fetch"}), "runs past 10000 pages");
  EXPECT_EQ(server_.requests(pubs), 10000);
  ExpectError(Run({"publications", "--remote"}), "runs past 10000 pages");
  EXPECT_EQ(server_.requests(pubs), 20000);
}

}  // namespace
}  // namespace converge::testing

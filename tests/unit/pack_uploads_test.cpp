// PackUploads (client/pack_uploads.h) with uploads that only record what
// happened, no server: bodies stream one at a time and in order, at most two
// packs are in flight (on two connections), a pack that names earlier ones
// starts only once every pack before it is answered, answers come back in
// order, and the first failure stops the sending. Also under TSan
// (threaded_tests).
#include "client/pack_uploads.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace converge {
namespace {

class PackUploadsTest : public ::testing::Test {
 protected:
  PackUploadsTest() : api_(Api()) {}
  // A client of a server nobody asks: the uploads below never use it.
  static ApiClient Api() {
    Result<HttpClient> http = HttpClient::Connect("http://127.0.0.1:9", HttpOptions{});
    EXPECT_TRUE(http.ok());
    return ApiClient(std::move(*http));
  }

  // An upload of pack `n` that sends its body, then answers once the event
  // `after` happened (any other pack's start or answer; waiting 10 s at
  // most), with `fail` when it is not ok; a failure `while_sending` ends it
  // before its body is sent.
  PackUploads::Upload Pack(int n, const std::string& after = "", Status fail = Status::Ok(),
                           bool while_sending = false) {
    return [this, n, after, fail, while_sending](
               ApiClient& api, const std::function<void()>& sent) -> Result<wire::PackResult> {
      Record("start " + std::to_string(n), &api);
      if (while_sending) return fail;
      sent();
      if (!after.empty()) {
        std::unique_lock<std::mutex> lock(mu_);
        happened_.wait_for(lock, std::chrono::seconds(10), [&] {
          return std::find(events_.begin(), events_.end(), after) != events_.end();
        });
      }
      Record("answer " + std::to_string(n), &api);
      if (!fail.ok()) return fail;
      wire::PackResult r;
      r.objects = static_cast<uint64_t>(n);
      return r;
    };
  }

  void Record(const std::string& what, ApiClient* api) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(what);
      connections_.push_back(api);
    }
    happened_.notify_all();
  }
  std::vector<std::string> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  size_t Index(const std::string& event) {
    std::vector<std::string> e = Events();
    for (size_t i = 0; i < e.size(); i++)
      if (e[i] == event) return i;
    ADD_FAILURE() << "no event " << event;
    return e.size();
  }

  ApiClient api_;
  std::mutex mu_;
  std::condition_variable happened_;
  std::vector<std::string> events_;
  std::vector<ApiClient*> connections_;
};

TEST_F(PackUploadsTest, BlobPacksOverlapTwoAtATimeAndAPackNamingEarlierOnesWaits) {
  PackUploads uploads(api_);
  // Pack 1 answers only once pack 2 has started (so they overlap, or the
  // answer comes 10 s late and the order below says so); pack 3 waits for
  // pack 1's answer (at most two in flight), pack 4 (naming earlier
  // objects) for every answer.
  ASSERT_TRUE(uploads.Send(false, Pack(1, "start 2")).ok());
  ASSERT_TRUE(uploads.Send(false, Pack(2)).ok());
  ASSERT_TRUE(uploads.Send(false, Pack(3)).ok());
  ASSERT_TRUE(uploads.Send(true, Pack(4)).ok());
  Result<std::vector<wire::PackResult>> answers = uploads.Finish();
  ASSERT_TRUE(answers.ok()) << answers.status().message();
  ASSERT_EQ(answers->size(), 4u);
  for (size_t i = 0; i < 4; i++) EXPECT_EQ((*answers)[i].objects, i + 1);
  EXPECT_LT(Index("start 2"), Index("answer 1")) << "pack 2 did not overlap pack 1's answer";
  EXPECT_GT(Index("start 3"), Index("answer 1")) << "three packs were in flight";
  EXPECT_GT(Index("start 4"), Index("answer 2"));
  EXPECT_GT(Index("start 4"), Index("answer 3"));
  // Packs 1 and 2 went on two connections, the caller's first (every
  // thread is joined: no lock needed).
  EXPECT_EQ(connections_[Index("start 1")], &api_);
  EXPECT_NE(connections_[Index("start 2")], &api_);
}

TEST_F(PackUploadsTest, AFailedAnswerStopsTheSendingWithAtMostOnePackAfterIt) {
  PackUploads uploads(api_);
  ASSERT_TRUE(uploads.Send(false, Pack(1, "start 2", Corrupt("pack 1 refused"))).ok());
  ASSERT_TRUE(uploads.Send(false, Pack(2)).ok());  // streamed while 1's answer came
  Status third = uploads.Send(false, Pack(3));
  EXPECT_EQ(third.code(), Code::kCorrupt);
  EXPECT_EQ(third.message(), "pack 1 refused");
  std::vector<std::string> e = Events();
  EXPECT_EQ(std::count(e.begin(), e.end(), "start 3"), 0) << "pack 3 was sent";
  EXPECT_EQ(uploads.Finish().status().message(), "pack 1 refused");
}

TEST_F(PackUploadsTest, AFailureWhileSendingStopsAtOnce) {
  PackUploads uploads(api_);
  ASSERT_TRUE(uploads.Send(false, Pack(1, "start 2")).ok());
  Status second = uploads.Send(false, Pack(2, "", Unavailable("connection broke"), true));
  EXPECT_EQ(second.code(), Code::kUnavailable);
  EXPECT_EQ(second.message(), "connection broke");
  // Pack 1 was answered before the failure came back.
  EXPECT_LT(Index("answer 1"), Events().size());
}

}  // namespace
}  // namespace converge

// The packs of one publish, sent in order, the next one's body streaming
// while the server still commits the one before.
//
// The server answers a pack once it is committed (the pack made durable, a
// row per object inserted into its tables), which takes longer as the repo's
// tables grow: at a million objects about a third of each pack's time, during
// which the client and its connection would only wait. A pack of blobs names
// nothing, so the server may check and commit it in any order with the packs
// before it; a pack holding anything else (a manifest, snap or chunk list,
// whose references the server checks against what the repo holds) is sent
// only once every pack before it is answered. At most two packs are in
// flight, each on its own connection: the caller's, and a second one opened
// when first needed. Bodies are streamed one at a time, in order, so the
// store, the progress display and the caller's state are used by one thread
// at a time; only the wait for an answer overlaps the next body.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "api/wire.h"
#include "base/status.h"
#include "net/api_client.h"

namespace converge {

class PackUploads {
 public:
  // Sends one pack's body over `api`, calling `sent` once all of it is
  // written, and returns the server's answer. Runs in a thread of its own.
  using Upload =
      std::function<Result<wire::PackResult>(ApiClient& api, const std::function<void()>& sent)>;

  explicit PackUploads(ApiClient& api);
  PackUploads(const PackUploads&) = delete;
  PackUploads& operator=(const PackUploads&) = delete;
  // Waits for the packs still in flight (their answers unread).
  ~PackUploads();

  // Starts a pack (`names_earlier`: it may name objects of the packs before
  // it) and returns once its body is sent. Fails with the first failure of
  // this pack or of one before it; after a failure, send nothing more. So a
  // refused pack stops the publish with at most one pack sent after it (the
  // one streaming while the refusal was on its way), whose objects, whole and
  // verified, the server keeps as it keeps those of the packs before.
  Status Send(bool names_earlier, Upload upload);
  // Waits for every answer: the packs' answers in the order sent, or the
  // first failure.
  Result<std::vector<wire::PackResult>> Finish();
  // Request body bytes sent on the second connection (the caller's client
  // counts its own).
  uint64_t second_bytes_sent() const;

 private:
  struct Job;
  // Waits for all but the newest `keep` packs, oldest first.
  Status Reap(size_t keep);
  ApiClient* FreeConnection();

  ApiClient& api_;
  std::unique_ptr<ApiClient> second_;
  std::deque<std::unique_ptr<Job>> jobs_;  // in flight, oldest first
  std::vector<wire::PackResult> answers_;
  Status failed_ = Status::Ok();
};

}  // namespace converge

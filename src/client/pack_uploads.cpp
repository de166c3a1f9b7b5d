#include "client/pack_uploads.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace converge {

struct PackUploads::Job {
  ApiClient* api = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  bool sent = false;  // the body is written, or the upload ended
  std::optional<Result<wire::PackResult>> answer;
  std::thread thread;

  void MarkSent() {
    {
      std::lock_guard<std::mutex> lock(mu);
      sent = true;
    }
    cv.notify_all();
  }
  // Whether the upload ended (its answer is set).
  bool Ended() {
    std::lock_guard<std::mutex> lock(mu);
    return answer.has_value();
  }
};

PackUploads::PackUploads(ApiClient& api) : api_(api) {}

PackUploads::~PackUploads() {
  for (const std::unique_ptr<Job>& job : jobs_) job->thread.join();
}

ApiClient* PackUploads::FreeConnection() {
  // The caller's connection, unless the pack still in flight uses it.
  if (jobs_.empty() || jobs_.back()->api != &api_) return &api_;
  if (!second_) {
    Result<ApiClient> other = api_.Another();
    if (!other.ok()) return nullptr;
    second_ = std::make_unique<ApiClient>(std::move(*other));
  }
  return second_.get();
}

Status PackUploads::Send(bool names_earlier, Upload upload) {
  RETURN_IF_ERROR(Reap(names_earlier ? 0 : 1));
  ApiClient* api = FreeConnection();
  if (!api) {  // no second connection: one pack at a time, then
    RETURN_IF_ERROR(Reap(0));
    api = &api_;
  }
  auto job = std::make_unique<Job>();
  Job* j = job.get();
  j->api = api;
  jobs_.push_back(std::move(job));
  j->thread = std::thread([j, upload = std::move(upload)] {
    Result<wire::PackResult> answer = upload(*j->api, [j] { j->MarkSent(); });
    {
      std::lock_guard<std::mutex> lock(j->mu);
      j->answer = std::move(answer);
      j->sent = true;
    }
    j->cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(j->mu);
    j->cv.wait(lock, [j] { return j->sent; });
  }
  // A pack refused while it streamed (the server answers and closes at the
  // first bad object): stop here rather than send the next.
  if (j->Ended() && !j->answer->ok()) return Reap(0);
  return Status::Ok();
}

Status PackUploads::Reap(size_t keep) {
  while (jobs_.size() > keep) {
    std::unique_ptr<Job> job = std::move(jobs_.front());
    jobs_.pop_front();
    job->thread.join();
    if (!job->answer->ok()) {
      if (failed_.ok()) failed_ = job->answer->status();
    } else {
      answers_.push_back(std::move(**job->answer));
    }
  }
  return failed_;
}

Result<std::vector<wire::PackResult>> PackUploads::Finish() {
  RETURN_IF_ERROR(Reap(0));
  return std::move(answers_);
}

uint64_t PackUploads::second_bytes_sent() const {
  return second_ ? second_->http().body_bytes_sent() : 0;
}

}  // namespace converge

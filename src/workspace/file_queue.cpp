#include "workspace/file_queue.h"

#include "base/parallel.h"

namespace converge {

namespace {

// Queued jobs and the runs (each holding its directory open) before Add waits.
constexpr size_t kMaxQueuedJobs = 4096;
constexpr size_t kMaxQueuedRuns = 256;
// The most files of one directory a thread writes in a row: each create (and
// rename) takes the directory's inode lock, and two threads writing into one
// directory took turns on it, the kernel spinning for the holder (on ext4
// shortly after a large removal a create is slow, as it skips recently freed
// inodes, and a 5,000-file restore spun a quarter of its CPU away); a large
// directory is still shared among the threads.
constexpr size_t kMaxRunJobs = 64;

}  // namespace

FileQueue::~FileQueue() {
  Cancel();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread& t : workers_) t.join();
}

Status FileQueue::Add(std::shared_ptr<Fd> dir, const Entry& e, std::string display,
                      WriteMode mode) {
  if (!run_.empty() && (run_.back().dir != dir || run_.size() == kMaxRunJobs)) Submit();
  run_.push_back(Job{std::move(dir), e, std::move(display), mode});
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void FileQueue::Submit() {
  if (run_.empty()) return;
  std::unique_lock<std::mutex> lock(mu_);
  // The workers start with the first run, so a restore that writes nothing
  // starts none; one per core (the caller's walk only reads manifests).
  if (workers_.empty())
    for (unsigned i = 0; i < WorkerCount(); i++) workers_.emplace_back([this] { Work(); });
  room_.wait(lock, [&] {
    return !failed_.ok() || (queued_jobs_ < kMaxQueuedJobs && runs_.size() < kMaxQueuedRuns);
  });
  if (failed_.ok()) {
    queued_jobs_ += run_.size();
    runs_.push_back(std::move(run_));
    work_.notify_one();
  }
  run_.clear();  // after a failure, dropped: the caller stops at its next Add
}

Status FileQueue::Flush() {
  Submit();
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [&] { return runs_.empty() && running_ == 0; });
  return failed_;
}

void FileQueue::Cancel() {
  run_.clear();
  std::unique_lock<std::mutex> lock(mu_);
  cancelled_ = true;
  runs_.clear();
  queued_jobs_ = 0;
  room_.notify_all();
  idle_.wait(lock, [&] { return running_ == 0; });
}

Status FileQueue::FlushOrCancel(Status walked) {
  if (walked.ok()) return Flush();
  Cancel();
  return walked;
}

void FileQueue::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return stopping_ || !runs_.empty(); });
    if (runs_.empty()) return;  // stopping, with nothing left
    Run run = std::move(runs_.front());
    runs_.pop_front();
    queued_jobs_ -= run.size();
    running_++;
    room_.notify_one();
    lock.unlock();
    Status st = RunJobs(run);
    run.clear();  // closes directories no one else holds, outside the lock
    lock.lock();
    running_--;
    if (!st.ok() && failed_.ok()) {
      failed_ = st;
      // Nothing more is written: what is queued goes, and Add says why.
      runs_.clear();
      queued_jobs_ = 0;
      room_.notify_all();
    }
    if (runs_.empty() && running_ == 0) idle_.notify_all();
  }
}

Status FileQueue::RunJobs(const Run& run) {
  for (const Job& j : run) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Another thread's failure, or Cancel, stops this run.
      if (!failed_.ok() || cancelled_) return Status::Ok();
    }
    RETURN_IF_ERROR(WriteFileAt(reader_, j.dir->get(), j.entry, j.display, j.mode, written_files_));
    written_++;
    if (progress_) progress_->Add(1, j.entry.size);
  }
  return Status::Ok();
}

}  // namespace converge

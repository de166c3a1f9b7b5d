// FileQueue: the file writes of a restore, run on all cores while the caller
// goes on walking the tree. The caller adds files in tree order; the queue
// hands them to worker threads a directory's run at a time, and Flush waits
// for them all. Memory and open descriptors stay bounded for any tree: Add
// waits while the queue is full.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "workspace/materialize.h"

namespace converge {

class FileQueue {
 public:
  // `written`, when given, records every file written (WriteFileAt).
  FileQueue(const TreeReader& reader, Progress* progress, WrittenFiles* written = nullptr)
      : reader_(reader), progress_(progress), written_files_(written) {}
  FileQueue(const FileQueue&) = delete;
  FileQueue& operator=(const FileQueue&) = delete;
  // Cancels what has not started and waits for what has.
  ~FileQueue();

  // Queues the write of `e` as e.name in `dir`. Fails with the first write
  // that failed so far, so that the caller stops walking.
  Status Add(std::shared_ptr<Fd> dir, const Entry& e, std::string display,
             WriteMode mode = WriteMode::kReplace);
  // Waits until every file added is written; the first failure, if any.
  Status Flush();
  // Drops the writes not started and waits for those running (each stops
  // after its current file): before the caller removes directories the queue
  // may still be writing into. The queue writes nothing more.
  void Cancel();
  // After the walk that fed the queue ended with `walked`: Flush when it
  // succeeded, else Cancel and `walked`. Then cleaning up races no write.
  Status FlushOrCancel(Status walked);
  uint64_t written() const { return written_.load(); }

 private:
  struct Job {
    std::shared_ptr<Fd> dir;
    Entry entry;
    std::string display;
    WriteMode mode;
  };
  using Run = std::vector<Job>;  // files of one directory, written by one thread in a row

  void Submit();  // moves run_ into the queue, waiting for room
  void Work();    // a worker thread's loop
  Status RunJobs(const Run& run);

  const TreeReader& reader_;
  Progress* progress_;
  WrittenFiles* written_files_;
  Run run_;  // being built by the caller

  std::mutex mu_;
  std::condition_variable work_, room_, idle_;
  std::deque<Run> runs_;    // guarded by mu_
  size_t queued_jobs_ = 0;  // in runs_
  size_t running_ = 0;      // runs taken by a worker and not yet done
  bool cancelled_ = false;  // nothing more is written
  bool stopping_ = false;   // the workers are to exit
  Status failed_;           // the first failure
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> written_{0};
};

}  // namespace converge

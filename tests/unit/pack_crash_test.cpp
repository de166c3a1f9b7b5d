// kill -9 in the middle of writing packs: a child process commits write
// batches (each spanning several pack files) in a loop and is SIGKILLed at
// varying moments, and at each step of a commit (store/pack_writer.h's hook). Afterwards every
// batch it acknowledged reads back whole, the batch it was in the middle of is all there or not at
// all, and fsck finds no damage (leftover temp files are warnings only).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "store/cas.h"
#include "store/fsck.h"
#include "store/gc.h"
#include "store/index_fold.h"
#include "store/pack_set.h"
#include "store/pack_writer.h"
#include "store/repack.h"
#include "support/process.h"
#include "support/store_helpers.h"
#include "support/tree_helpers.h"

namespace converge {
namespace {

using testing::TempDir;

constexpr int kObjectsPerBatch = 40;

// Object `j` of batch `b` of round `r`: 1-6 KiB, half of them compressible.
std::string CrashObject(int r, int b, int j) {
  std::string head = "round " + std::to_string(r) + " batch " + std::to_string(b) + " object " +
                     std::to_string(j) + "\n";
  size_t n = 1024 + static_cast<size_t>((b * 131 + j * 977) % 5120);
  if (j % 2 == 0) return head + std::string(n, static_cast<char>('a' + j % 26));
  return head + testing::PseudoRandomBytes(n, static_cast<uint32_t>(r * 100000 + b * 100 + j));
}

// Where the child kills itself: at this step of its third batch's commit.
const char* g_kill_step = nullptr;
int g_batch = 0;

void KillAtStep(const char* step) {
  if (g_kill_step && g_batch == 2 && std::string_view(step) == g_kill_step) ::raise(SIGKILL);
}

// The child: commits batch after batch, writing each one's number to `ack`
// once its Commit returned. Never returns.
[[noreturn]] void CommitForever(const fs::path& root, int round, int ack) {
  pack_commit_step_hook = KillAtStep;
  Result<ObjectStore> store = ObjectStore::Open(root);
  if (!store.ok()) ::_exit(2);
  for (int b = 0;; b++) {
    g_batch = b;
    WriteBatch batch(*store);
    batch.set_max_pack_bytes(64 << 10);  // several packs a batch
    for (int j = 0; j < kObjectsPerBatch; j++)
      if (!batch.Put(CrashObject(round, b, j)).ok()) ::_exit(3);
    if (!batch.Commit().ok()) ::_exit(4);
    if (::write(ack, &b, sizeof b) != sizeof b) ::_exit(5);
  }
}

// How many objects of batch `b` the store has, each verified whole.
int IntactObjects(const ObjectStore& store, int round, int b) {
  int n = 0;
  for (int j = 0; j < kObjectsPerBatch; j++) {
    std::string bytes = CrashObject(round, b, j);
    ObjectId id = ObjectId::Of(bytes);
    if (!store.Has(id)) continue;
    Result<std::string> back = store.Read(id);
    EXPECT_TRUE(back.ok() && *back == bytes) << "batch " << b << " object " << j;
    n++;
  }
  return n;
}

TEST(PackCrash, KilledMidBatchLeavesEachBatchWholeOrAbsent) {
  TempDir dir;
  // Six kills after a delay, then one at each step of a commit.
  const int delays_ms[] = {2, 9, 23, 41, 67, 97};
  const char* steps[] = {"sealed", "index-written", "packs-renamed", "index-renamed"};
  for (int round = 0; round < 10; round++) {
    g_kill_step = round < 6 ? nullptr : steps[round - 6];
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      CommitForever(dir.path(), round, fds[1]);
    }
    ::close(fds[1]);
    if (round < 6) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delays_ms[round]));
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself: " << WEXITSTATUS(status);
    int acked = -1, b = 0;
    while (::read(fds[0], &b, sizeof b) == sizeof b) acked = b;
    ::close(fds[0]);

    ObjectStore store = *ObjectStore::Open(dir.path());
    for (int i = 0; i <= acked; i++)
      EXPECT_EQ(IntactObjects(store, round, i), kObjectsPerBatch)
          << "round " << round << ": acknowledged batch " << i << " is not whole";
    int next = IntactObjects(store, round, acked + 1);
    EXPECT_TRUE(next == 0 || next == kObjectsPerBatch)
        << "round " << round << ": batch " << acked + 1 << " is half visible (" << next << ")";
    EXPECT_EQ(IntactObjects(store, round, acked + 2), 0) << "round " << round;
    if (g_kill_step) {
      EXPECT_EQ(acked, 1) << g_kill_step;
      bool visible = std::string_view(g_kill_step) == "index-renamed";
      EXPECT_EQ(next, visible ? kObjectsPerBatch : 0) << g_kill_step;
    }

    FsckReport report;
    Result<ObjectCensus> census = TakeCensus(store, report);
    ASSERT_TRUE(census.ok()) << census.status().message();
    Result<std::vector<TempFile>> temps = ListTemps(store);
    ASSERT_TRUE(temps.ok());
    CheckTemps(*temps, false, 0, "", report);
    for (const FsckProblem& p : report.problems)
      EXPECT_TRUE(p.warning) << "round " << round << ": " << p.subject << ": " << p.problem;
  }
}

// A repack killed at each of its steps (and after a few delays): every
// object still reads back from the old files or the new pack, fsck finds no
// damage, and the next repack finishes the job.
const char* g_repack_kill_step = nullptr;

void KillRepackAtStep(const char* step) {
  if (g_repack_kill_step && std::string_view(step) == g_repack_kill_step) ::raise(SIGKILL);
}

TEST(PackCrash, RepackKilledAtAnyStepLosesNothing) {
  const char* steps[] = {"sealed",        "index-written",          "packs-renamed",
                         "index-renamed", "repack-indexes-removed", "repack-packs-removed",
                         nullptr};
  for (int round = 0; round < 7; round++) {
    TempDir dir;
    std::vector<std::string> objects;
    {
      ObjectStore store = *ObjectStore::Open(dir.path());
      for (int b = 0; b < 3; b++) {
        WriteBatch batch(store);
        for (int j = 0; j < kObjectsPerBatch; j++) {
          objects.push_back(CrashObject(round, b, j));
          ASSERT_TRUE(batch.Put(objects.back()).ok());
        }
        ASSERT_TRUE(batch.Commit().ok());
      }
      for (int j = 0; j < 3; j++) {
        objects.push_back("loose " + std::to_string(round) + " " + std::to_string(j));
        ASSERT_TRUE(store.Put(objects.back()).ok());
      }
    }
    g_repack_kill_step = steps[round];
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      pack_commit_step_hook = KillRepackAtStep;
      Result<ObjectStore> store = ObjectStore::Open(dir.path());
      RepackOptions options;
      options.max_pack_bytes = 128 << 10;  // several new packs
      ::_exit(store.ok() && Repack(*store, options).ok() ? 0 : 3);
    }
    if (!g_repack_kill_step) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (g_repack_kill_step)
      EXPECT_TRUE(WIFSIGNALED(status)) << "the repack never reached " << g_repack_kill_step;
    else
      EXPECT_TRUE(WIFSIGNALED(status) || WEXITSTATUS(status) == 0);

    std::string when = g_repack_kill_step ? g_repack_kill_step : "a delay";
    for (int pass = 0; pass < 2; pass++) {
      ObjectStore store = *ObjectStore::Open(dir.path());
      for (const std::string& o : objects) {
        Result<std::string> back = store.Read(ObjectId::Of(o));
        EXPECT_TRUE(back.ok() && *back == o) << when << ", pass " << pass;
      }
      FsckReport report;
      ASSERT_TRUE(TakeCensus(store, report).ok());
      for (const FsckProblem& p : report.problems)
        EXPECT_TRUE(p.warning) << when << ": " << p.subject << ": " << p.problem;
      if (pass == 0) {
        Result<RepackStats> again = Repack(store);
        EXPECT_TRUE(again.ok()) << when << ": " << again.status().message();
      }
    }
  }
}

// An index fold killed at each of its steps (and after a delay): every
// object still reads back, from the old indexes, the new one or both, fsck
// finds no damage, and the next fold finishes the job.
const char* g_fold_kill_step = nullptr;

void KillFoldAtStep(const char* step) {
  if (g_fold_kill_step && std::string_view(step) == g_fold_kill_step) ::raise(SIGKILL);
}

TEST(PackCrash, IndexFoldKilledAtAnyStepLosesNothing) {
  const char* steps[] = {"fold-index-written", "fold-index-renamed", "fold-indexes-removed",
                         nullptr};
  for (int round = 0; round < 4; round++) {
    TempDir dir;
    std::vector<std::string> objects;
    {
      ObjectStore store = *ObjectStore::Open(dir.path());
      for (int b = 0; b < 6; b++) {
        WriteBatch batch(store);
        for (int j = 0; j < kObjectsPerBatch; j++) {
          objects.push_back(CrashObject(round, b, j));
          ASSERT_TRUE(batch.Put(objects.back()).ok());
        }
        ASSERT_TRUE(batch.Commit().ok());
      }
    }
    g_fold_kill_step = steps[round];
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      pack_commit_step_hook = KillFoldAtStep;
      Result<ObjectStore> store = ObjectStore::Open(dir.path());
      ::_exit(store.ok() && FoldIndexes(*store).ok() ? 0 : 3);
    }
    if (!g_fold_kill_step) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (g_fold_kill_step)
      EXPECT_TRUE(WIFSIGNALED(status)) << "the fold never reached " << g_fold_kill_step;
    else
      EXPECT_TRUE(WIFSIGNALED(status) || WEXITSTATUS(status) == 0);

    std::string when = g_fold_kill_step ? g_fold_kill_step : "a delay";
    for (int pass = 0; pass < 2; pass++) {
      ObjectStore store = *ObjectStore::Open(dir.path());
      for (const std::string& o : objects) {
        Result<std::string> back = store.Read(ObjectId::Of(o));
        EXPECT_TRUE(back.ok() && *back == o) << when << ", pass " << pass;
      }
      FsckReport report;
      ASSERT_TRUE(TakeCensus(store, report).ok());
      for (const FsckProblem& p : report.problems)
        EXPECT_TRUE(p.warning) << when << ": " << p.subject << ": " << p.problem;
      if (pass == 0) {
        Result<FoldStats> again = FoldIndexes(store, 0);
        EXPECT_TRUE(again.ok()) << when << ": " << again.status().message();
      } else {
        EXPECT_EQ(store.packs().Indexes().size(), 1u) << when;
      }
    }
  }
}

// A gc killed at each of its steps (and after a delay): every object it
// keeps still reads back, fsck finds no damage (leftovers are warnings), and
// a rerun finishes: no unreferenced object is left.
const char* g_gc_kill_step = nullptr;

void KillGcAtStep(const char* step) {
  if (g_gc_kill_step && std::string_view(step) == g_gc_kill_step) ::raise(SIGKILL);
}

struct GcCrashStore {
  std::vector<std::string> live, garbage;
  LiveSet Live() const {
    LiveSet s;
    for (const std::string& o : live) s.Add(ObjectId::Of(o));
    s.Seal();
    return s;
  }
};

GcCrashStore FillForGc(const fs::path& root, int round) {
  GcCrashStore out;
  ObjectStore store = *ObjectStore::Open(root);
  for (int b = 0; b < 3; b++) {
    WriteBatch batch(store);
    for (int j = 0; j < kObjectsPerBatch; j++) {
      std::string o = CrashObject(round, b, j);
      (j % 3 == 0 ? out.garbage : out.live).push_back(o);
      EXPECT_TRUE(batch.Put(o).ok());
    }
    EXPECT_TRUE(batch.Commit().ok());
  }
  for (int j = 0; j < 6; j++) {
    std::string o = "loose " + std::to_string(round) + " " + std::to_string(j);
    (j % 2 ? out.garbage : out.live).push_back(o);
    EXPECT_TRUE(store.Put(o).ok());
  }
  testing::BackdateFiles(root / "packs", 7200);
  testing::BackdateFiles(root / "objects", 7200);
  return out;
}

TEST(PackCrash, GcKilledAtAnyStepLosesNothing) {
  const char* steps[] = {"sealed",          "index-written",      "packs-renamed",
                         "index-renamed",   "gc-indexes-removed", "gc-packs-removed",
                         "gc-loose-caught", "gc-loose-removed",   nullptr};
  for (int round = 0; round < 9; round++) {
    TempDir dir;
    GcCrashStore objects = FillForGc(dir.path(), round);
    GcOptions options;
    options.cutoff = GcCutoff(3600);
    options.max_pack_bytes = 96 << 10;  // several new packs
    g_gc_kill_step = steps[round];
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      pack_commit_step_hook = KillGcAtStep;
      Result<ObjectStore> store = ObjectStore::Open(dir.path());
      ::_exit(store.ok() && CollectGarbage(*store, objects.Live(), options).ok() ? 0 : 3);
    }
    if (!g_gc_kill_step) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (g_gc_kill_step)
      EXPECT_TRUE(WIFSIGNALED(status)) << "the gc never reached " << g_gc_kill_step;
    else
      EXPECT_TRUE(WIFSIGNALED(status) || WEXITSTATUS(status) == 0);

    std::string when = g_gc_kill_step ? g_gc_kill_step : "a delay";
    for (int pass = 0; pass < 2; pass++) {
      ObjectStore store = *ObjectStore::Open(dir.path());
      for (const std::string& o : objects.live) {
        Result<std::string> back = store.Read(ObjectId::Of(o));
        EXPECT_TRUE(back.ok() && *back == o) << when << ", pass " << pass;
      }
      FsckReport report;
      ASSERT_TRUE(TakeCensus(store, report).ok());
      for (const FsckProblem& p : report.problems)
        EXPECT_TRUE(p.warning) << when << ": " << p.subject << ": " << p.problem;
      if (pass == 0) {
        Result<GcStats> again = CollectGarbage(store, objects.Live(), options);
        EXPECT_TRUE(again.ok()) << when << ": " << again.status().message();
        continue;
      }
      for (const std::string& o : objects.garbage)
        EXPECT_FALSE(store.Has(ObjectId::Of(o))) << when << ": garbage left after the rerun";
    }
  }
}

}  // namespace
}  // namespace converge

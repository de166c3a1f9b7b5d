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
#include <functional>
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
    Result<std::vector<TempFile>> temps = store.ListTemps();
    ASSERT_TRUE(temps.ok());
    CheckTemps(*temps, false, 0, "", report);
    for (const FsckProblem& p : report.problems)
      EXPECT_TRUE(p.warning) << "round " << round << ": " << p.subject << ": " << p.problem;
  }
}

// The step-kill tests below: `job` runs in a child process that kills
// itself when the store's hook names step `at` (pack_writer.h), or, with no
// step, is killed after a few milliseconds; this returns once it ended.
const char* g_kill_at = nullptr;

void KillAtNamedStep(const char* step) {
  if (g_kill_at && std::string_view(step) == g_kill_at) ::raise(SIGKILL);
}

void RunKilled(const fs::path& root, const char* at,
               const std::function<Status(ObjectStore&)>& job) {
  g_kill_at = at;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    pack_commit_step_hook = KillAtNamedStep;
    Result<ObjectStore> store = ObjectStore::Open(root);
    ::_exit(store.ok() && job(*store).ok() ? 0 : 3);
  }
  if (!at) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  if (at)
    EXPECT_TRUE(WIFSIGNALED(status)) << "the job never reached " << at;
  else
    EXPECT_TRUE(WIFSIGNALED(status) || WEXITSTATUS(status) == 0);
}

// After a kill: every object of `kept` reads back and fsck finds nothing
// but warnings, before `finish` (the rerun that completes the job) and
// after it; then `after` checks what the rerun left.
void ExpectNothingLost(const fs::path& root, const std::vector<std::string>& kept,
                       const std::string& when, const std::function<Status(ObjectStore&)>& finish,
                       const std::function<void(ObjectStore&)>& after) {
  for (int pass = 0; pass < 2; pass++) {
    ObjectStore store = *ObjectStore::Open(root);
    for (const std::string& o : kept) {
      Result<std::string> back = store.Read(ObjectId::Of(o));
      EXPECT_TRUE(back.ok() && *back == o) << when << ", pass " << pass;
    }
    FsckReport report;
    ASSERT_TRUE(TakeCensus(store, report).ok());
    for (const FsckProblem& p : report.problems)
      EXPECT_TRUE(p.warning) << when << ": " << p.subject << ": " << p.problem;
    if (pass == 0) {
      Status st = finish(store);
      EXPECT_TRUE(st.ok()) << when << ": " << st.message();
    } else {
      after(store);
    }
  }
}

// Batches committed into `root` (and `loose` loose objects); returns them all.
std::vector<std::string> FillStore(const fs::path& root, int round, int batches, int loose) {
  std::vector<std::string> objects;
  ObjectStore store = *ObjectStore::Open(root);
  for (int b = 0; b < batches; b++) {
    WriteBatch batch(store);
    for (int j = 0; j < kObjectsPerBatch; j++) {
      objects.push_back(CrashObject(round, b, j));
      EXPECT_TRUE(batch.Put(objects.back()).ok());
    }
    EXPECT_TRUE(batch.Commit().ok());
  }
  for (int j = 0; j < loose; j++) {
    objects.push_back("loose " + std::to_string(round) + " " + std::to_string(j));
    EXPECT_TRUE(store.Put(objects.back()).ok());
  }
  return objects;
}

// A repack killed at each of its steps (and after a delay): every object
// still reads back from the old files or the new pack, fsck finds no
// damage, and the next repack finishes the job.
TEST(PackCrash, RepackKilledAtAnyStepLosesNothing) {
  const char* steps[] = {"sealed",        "index-written",          "packs-renamed",
                         "index-renamed", "repack-indexes-removed", "repack-packs-removed",
                         nullptr};
  for (int round = 0; round < 7; round++) {
    TempDir dir;
    std::vector<std::string> objects = FillStore(dir.path(), round, 3, 3);
    RunKilled(dir.path(), steps[round], [](ObjectStore& store) {
      RepackOptions options;
      options.max_pack_bytes = 128 << 10;  // several new packs
      return Repack(store, options).status();
    });
    ExpectNothingLost(
        dir.path(), objects, steps[round] ? steps[round] : "a delay",
        [](ObjectStore& store) { return Repack(store).status(); }, [](ObjectStore&) {});
  }
}

// An index fold killed at each of its steps (and after a delay): every
// object still reads back, from the old indexes, the new one or both, fsck
// finds no damage, and the next fold finishes the job.
TEST(PackCrash, IndexFoldKilledAtAnyStepLosesNothing) {
  const char* steps[] = {"fold-index-written", "fold-index-renamed", "fold-indexes-removed",
                         nullptr};
  for (int round = 0; round < 4; round++) {
    TempDir dir;
    std::vector<std::string> objects = FillStore(dir.path(), round, 6, 0);
    RunKilled(dir.path(), steps[round],
              [](ObjectStore& store) { return FoldIndexes(store).status(); });
    std::string when = steps[round] ? steps[round] : "a delay";
    ExpectNothingLost(
        dir.path(), objects, when,
        [](ObjectStore& store) { return FoldIndexes(store, 0).status(); },
        [&](ObjectStore& store) { EXPECT_EQ(store.packs().Indexes().size(), 1u) << when; });
  }
}

// A gc killed at each of its steps (and after a delay): every object it
// keeps still reads back, fsck finds no damage (leftovers are warnings), and
// a rerun finishes: no unreferenced object is left.
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
  std::vector<std::string> all = FillStore(root, round, 3, 6);
  for (size_t i = 0; i < all.size(); i++) {
    bool loose = i >= size_t{3} * kObjectsPerBatch;
    size_t j = loose ? i - 3 * kObjectsPerBatch : i % kObjectsPerBatch;
    bool garbage = loose ? j % 2 == 1 : j % 3 == 0;
    (garbage ? out.garbage : out.live).push_back(all[i]);
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
    RunKilled(dir.path(), steps[round], [&](ObjectStore& store) {
      return CollectGarbage(store, objects.Live(), options).status();
    });
    std::string when = steps[round] ? steps[round] : "a delay";
    ExpectNothingLost(
        dir.path(), objects.live, when,
        [&](ObjectStore& store) { return CollectGarbage(store, objects.Live(), options).status(); },
        [&](ObjectStore& store) {
          for (const std::string& o : objects.garbage)
            EXPECT_FALSE(store.Has(ObjectId::Of(o))) << when << ": garbage left after the rerun";
        });
  }
}

}  // namespace
}  // namespace converge

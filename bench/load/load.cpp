// converge_load: N users at once, each taking M snaps of a workspace whose
// content overlaps the others' (shared files, and files every user changes the
// same way at the same step, so identical objects race to the server), publishing
// each snap and fetching everyone's work every few snaps, against a real
// `converge serve` on loopback. Afterwards: zero errors, every publication
// listed, every user's final fetch holding every published snap's whole tree,
// and `serve --fsck` clean. Prints throughput and p50/p99 latency per
// operation; with --report FILE also writes them as Markdown, and with
// --summary FILE the head numbers as one JSON object (bench/load.sh). The
// server's data dir is under $TMPDIR; the users' workspaces under /dev/shm if
// present.
//
// With --db URL (an empty PostgreSQL database) or --postgres (a throwaway
// cluster of its own, scripts/pg-cluster.sh) the metadata is on PostgreSQL,
// and --nodes N starts N `serve` processes on that one database and one data
// dir, the users spread round-robin over them (each talks to its node
// directly); the fsck runs with the same --db.
//
//   converge_load [--users 32] [--snaps 50] [--fetch-every 10] [--nodes 1]
//                 [--db URL | --postgres] [--report FILE] [--summary FILE]
//                 [--bin PATH] [--keep]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "base/random.h"
#include "client/download.h"
#include "client/fetch.h"
#include "client/publish.h"
#include "load_server.h"
#include "workspace/snapshot.h"

namespace converge::load {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int users = 32, snaps = 50, fetch_every = 10, nodes = 1;
  std::string report, summary, db, bin = CONVERGE_BIN;
  bool postgres = false;  // a cluster of our own
  bool keep = false;
};

// Latencies per operation, and every error, from all threads.
class Stats {
 public:
  void Add(const std::string& op, double ms) {
    std::lock_guard<std::mutex> lock(mu_);
    ms_[op].push_back(ms);
  }
  void Error(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    errors_.push_back(what);
  }
  std::vector<std::string> errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }
  // The q-quantile of an operation's latencies in ms (0 when none ran).
  double Quantile(const std::string& op, double q) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<double> v = ms_[op];
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(q * v.size()))];
  }
  // One Markdown table row per operation.
  std::string Table(double wall_s) {
    std::lock_guard<std::mutex> lock(mu_);
    std::ostringstream out;
    out << "| operation | count | per second | p50 ms | p99 ms | max ms |\n"
        << "|---|---|---|---|---|---|\n";
    for (auto& [op, times] : ms_) {
      // A named reference: clang 14 cannot capture a structured binding.
      std::vector<double>& v = times;
      std::sort(v.begin(), v.end());
      auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * v.size()))]; };
      char row[256];
      std::snprintf(row, sizeof row, "| %s | %zu | %.1f | %.1f | %.1f | %.1f |\n", op.c_str(),
                    v.size(), v.size() / wall_s, at(0.50), at(0.99), v.back());
      out << row;
    }
    return out.str();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<double>> ms_;
  std::vector<std::string> errors_;
};

template <class F>
auto Timed(Stats& stats, const std::string& op, F&& fn) {
  Clock::time_point start = Clock::now();
  auto r = fn();
  stats.Add(op, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  return r;
}

std::string Text(const std::string& seed, size_t bytes) {
  std::string out;
  for (int line = 0; out.size() < bytes; line++)
    out += seed + " line " + std::to_string(line) + ": the quick brown fox\n";
  return out;
}

// The workspace of `user` at step `step`: 20 files every user has alike, 5
// every user changes identically at each step, and 5 of the user's own, one
// of them changed at every step.
Status WriteTree(const fs::path& root, int user, int step) {
  std::string me = "user" + std::to_string(user);
  std::error_code ec;
  for (const char* sub : {"shared", "common"}) fs::create_directories(root / sub, ec);
  fs::create_directories(root / me, ec);
  for (int i = 0; i < 20; i++)
    RETURN_IF_ERROR(WriteFileAtomic(root / "shared" / ("lib" + std::to_string(i) + ".c"),
                                    Text("shared " + std::to_string(i), 2000 + 100 * i)));
  for (int i = 0; i < 5; i++)
    RETURN_IF_ERROR(
        WriteFileAtomic(root / "common" / ("step" + std::to_string(i) + ".txt"),
                        Text("step " + std::to_string(step) + "." + std::to_string(i), 1500)));
  for (int i = 0; i < 5; i++) {
    int version = i == 0 ? step : 0;
    RETURN_IF_ERROR(WriteFileAtomic(
        root / me / ("own" + std::to_string(i) + ".txt"),
        Text(me + " file " + std::to_string(i) + " v" + std::to_string(version), 3000)));
  }
  return Status::Ok();
}

struct User {
  std::string handle, token;
  std::vector<std::string> published;  // publication IDs
  std::set<std::string> snaps;
  size_t seen_at_end = 0;
};

Result<ApiClient> Connect(const std::string& url, const std::string& token) {
  HttpOptions o;
  o.token = token;
  ASSIGN_OR_RETURN(HttpClient http, HttpClient::Connect(url, o));
  return ApiClient(std::move(http));
}

Status RunUser(const Options& o, const std::string& url, const fs::path& dir, User& u,
               Stats& stats) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(url, u.token));
  ASSIGN_OR_RETURN(Workspace ws, Workspace::Init(dir));
  int index = std::atoi(u.handle.c_str() + 4);
  for (int step = 0; step < o.snaps; step++) {
    RETURN_IF_ERROR(WriteTree(dir, index, step));
    ASSIGN_OR_RETURN(SnapResult snap,
                     Timed(stats, "snap (local)", [&] { return TakeSnap(ws, "step", false); }));
    PublishOptions po;
    po.scope = "main";
    po.gate = "dev-intake";
    po.lane = "default";
    ASSIGN_OR_RETURN(PublishOutcome pub, Timed(stats, "publish", [&] {
                       return PublishSnap(ws, api, "load", snap.id, po);
                     }));
    u.published.push_back(pub.publication.id);
    u.snaps.insert(snap.id.hex());
    if ((step + 1) % o.fetch_every == 0 || step + 1 == o.snaps) {
      FetchOptions fo;
      ASSIGN_OR_RETURN(FetchOutcome f, Timed(stats, "fetch (everyone's work)", [&] {
                         return FetchPublications(ws, api, "load", fo);
                       }));
      u.seen_at_end = f.publications.size();
    }
  }
  return Status::Ok();
}

// Every publication listed once, and one user's store holding the whole tree
// of every published snap (fetched, so downloaded and verified).
Status Verify(const Options& o, const std::string& url, const std::string& admin,
              const fs::path& dir, std::vector<User>& users, Stats& stats) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(url, admin));
  std::set<std::string> listed;
  PublicationFilter filter;
  filter.limit = 1000;
  for (;;) {
    ASSIGN_OR_RETURN(wire::PublicationPage page, api.ListPublications("load", filter));
    for (const wire::Publication& p : page.publications) listed.insert(p.id);
    if (!page.next) break;
    filter.before = *page.next;
  }
  size_t want = 0;
  std::vector<ObjectId> snaps;
  for (User& u : users) {
    want += u.published.size();
    for (const std::string& id : u.published)
      if (!listed.count(id))
        return NotFound("publication " + id + " of " + u.handle + " is not listed");
    for (const std::string& s : u.snaps) snaps.push_back(*ObjectId::FromHex(s));
  }
  if (want != size_t(o.users) * size_t(o.snaps) || listed.size() != want)
    return Internal("the repo lists " + std::to_string(listed.size()) + " publications, " +
                    std::to_string(want) + " were made");
  ASSIGN_OR_RETURN(Workspace ws, Workspace::Init(dir));
  ASSIGN_OR_RETURN(DownloadStats got, Timed(stats, "download every snap (verify)", [&] {
                     return DownloadSnaps(ws.store(), api, "load", snaps, false);
                   }));
  (void)got;
  // Downloading again must find nothing missing: every object is there.
  ASSIGN_OR_RETURN(DownloadStats again, DownloadSnaps(ws.store(), api, "load", snaps, false));
  if (again.objects != 0)
    return Corrupt(std::to_string(again.objects) + " objects were still missing after a download");
  return Status::Ok();
}

Status Setup(ApiClient& admin, std::vector<User>& users, int n) {
  RETURN_IF_ERROR(admin.CreateRepo("load").status());
  for (int i = 0; i < n; i++) {
    User u;
    u.handle = "user" + std::to_string(i);
    ASSIGN_OR_RETURN(wire::CreatedUser made, admin.CreateUser(u.handle, false));
    u.token = made.token;
    RETURN_IF_ERROR(admin.SetMember("load", u.handle, "publish").status());
    RETURN_IF_ERROR(admin.AddLaneMember("load", "default", u.handle).status());
    users.push_back(std::move(u));
  }
  return Status::Ok();
}

// CPU seconds of the load process itself (every user's thread).
double SelfCpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Where the CPU went during the timed part: this process (the users), the
// serve nodes, the PostgreSQL cluster (when it is ours).
struct CpuSplit {
  double users = 0, nodes = 0, postgres = 0;
};

CpuSplit CpuNow(const std::vector<std::unique_ptr<ServerChild>>& nodes, const PgCluster* pg) {
  CpuSplit c;
  c.users = SelfCpu();
  for (const auto& n : nodes) c.nodes += CpuSeconds(n->pid());
  if (pg) c.postgres = CpuSeconds(pg->postmaster(), true);
  return c;
}

std::string Configuration(const Options& o) {
  std::string engine = o.db.empty() && !o.postgres ? "SQLite" : "PostgreSQL";
  return std::to_string(o.nodes) + (o.nodes == 1 ? " node" : " nodes") + " on " + engine;
}

Status Run(const Options& o) {
  InitCrypto();
  std::string name = "converge-load-" + RandomHex(6);
  fs::path top = fs::temp_directory_path() / name;
  // The users' workspaces stand for other machines: their disk is not the
  // server's cost, and 32 copies of everyone's objects are slow to write and
  // delete on a busy disk. Memory-backed when there is /dev/shm.
  std::error_code ec;
  fs::path clients = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") / name : top;
  std::unique_ptr<PgCluster> pg;
  std::string db = o.db;
  if (o.postgres) {
    pg = std::make_unique<PgCluster>(fs::path(CONVERGE_SOURCE_DIR) / "scripts" / "pg-cluster.sh");
    ASSIGN_OR_RETURN(db, pg->Start(top / "pg"));
  }
  // Every node on the one data dir (and database); the first starts alone,
  // so it alone creates the schema and the initial admin token.
  std::vector<std::unique_ptr<ServerChild>> nodes;
  for (int i = 0; i < o.nodes; i++) {
    nodes.push_back(std::make_unique<ServerChild>(
        o.bin, top / "data", top / ("server-" + std::to_string(i) + ".log"), db));
    // Enough threads for every client at once; a quiet log.
    RETURN_IF_ERROR(
        nodes.back()->Start("{\"threads\": " + std::to_string(std::max(8, o.users)) + "}"));
  }
  ServerChild& first = *nodes.front();
  ASSIGN_OR_RETURN(std::string admin_token, first.AdminToken());
  ASSIGN_OR_RETURN(ApiClient admin, Connect(first.url(), admin_token));
  std::vector<User> users;
  RETURN_IF_ERROR(Setup(admin, users, o.users));

  Stats stats;
  CpuSplit cpu0 = CpuNow(nodes, pg.get());
  Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < users.size(); i++)
    threads.emplace_back([&, i, dir = clients / "ws" / users[i].handle] {
      User& u = users[i];
      Status st = RunUser(o, nodes[i % nodes.size()]->url(), dir, u, stats);
      if (!st.ok()) stats.Error(u.handle + ": " + st.message());
    });
  for (std::thread& t : threads) t.join();
  double wall = std::chrono::duration<double>(Clock::now() - start).count();
  CpuSplit cpu1 = CpuNow(nodes, pg.get());

  // Verified through the last node: another than the first when there are two.
  Status verified = Verify(o, nodes.back()->url(), admin_token, clients / "verify", users, stats);
  if (!verified.ok()) stats.Error("verify: " + verified.message());
  for (auto& n : nodes) {
    Status stopped = n->Stop();
    if (!stopped.ok()) stats.Error("stop: " + stopped.message());
  }
  std::string fsck_out;
  Status fsck = first.Fsck(&fsck_out);
  if (!fsck.ok()) stats.Error("fsck: " + fsck.message() + "\n" + fsck_out);

  std::vector<std::string> errors = stats.errors();
  char head[768];
  int pubs = o.users * o.snaps;
  unsigned cores = std::thread::hardware_concurrency();
  CpuSplit used{cpu1.users - cpu0.users, cpu1.nodes - cpu0.nodes, cpu1.postgres - cpu0.postgres};
  char pg_cpu[32] = "not measured", pg_json[32] = "null";
  if (pg) {
    std::snprintf(pg_cpu, sizeof pg_cpu, "%.1f s", used.postgres);
    std::snprintf(pg_json, sizeof pg_json, "%.1f", used.postgres);
  }
  std::snprintf(head, sizeof head,
                "%d users x %d snaps = %d publications in %.1f s (%.1f publications/s), "
                "%s, %u cores; %zu errors; fsck %s\n\n"
                "CPU while the users ran: users (this process) %.1f s, serve %.1f s, "
                "PostgreSQL %s; %u cores x %.1f s = %.1f s available\n\n",
                o.users, o.snaps, pubs, wall, pubs / wall, Configuration(o).c_str(), cores,
                errors.size(), fsck.ok() ? "clean" : "FAILED", used.users, used.nodes,
                pg_cpu, cores, wall, cores * wall);
  std::string report = std::string(head) + stats.Table(wall);
  std::cout << report << std::flush;
  for (const std::string& e : errors) std::cerr << "error: " << e << "\n";
  if (!o.report.empty()) RETURN_IF_ERROR(WriteFileAtomic(o.report, report));
  if (!o.summary.empty()) {
    char json[1024];
    std::snprintf(json, sizeof json,
                  "{\"configuration\": \"%s\", \"nodes\": %d, \"users\": %d, \"snaps\": %d, "
                  "\"wall_s\": %.2f, \"publications_per_s\": %.2f, \"publish_p50_ms\": %.1f, "
                  "\"publish_p99_ms\": %.1f, \"fetch_p50_ms\": %.1f, \"fetch_p99_ms\": %.1f, "
                  "\"errors\": %zu, \"fsck_clean\": %s, \"cpu_users_s\": %.1f, "
                  "\"cpu_serve_s\": %.1f, \"cpu_postgres_s\": %s, \"cores\": %u}\n",
                  Configuration(o).c_str(), o.nodes, o.users, o.snaps, wall, pubs / wall,
                  stats.Quantile("publish", 0.5), stats.Quantile("publish", 0.99),
                  stats.Quantile("fetch (everyone's work)", 0.5),
                  stats.Quantile("fetch (everyone's work)", 0.99), errors.size(),
                  fsck.ok() ? "true" : "false", used.users, used.nodes,
                  pg_json, cores);
    RETURN_IF_ERROR(WriteFileAtomic(o.summary, json));
  }
  nodes.clear();
  pg.reset();  // stopped before its directory goes
  if (!o.keep && errors.empty()) {
    fs::remove_all(clients, ec);
    fs::remove_all(top, ec);
  }
  if (!errors.empty())
    return Internal(std::to_string(errors.size()) + " errors (files kept in " + top.string() +
                    " and " + clients.string() + ")");
  return Status::Ok();
}

}  // namespace
}  // namespace converge::load

int main(int argc, char** argv) {
  converge::load::Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--users")
      o.users = std::atoi(next().c_str());
    else if (a == "--snaps")
      o.snaps = std::atoi(next().c_str());
    else if (a == "--fetch-every")
      o.fetch_every = std::atoi(next().c_str());
    else if (a == "--nodes")
      o.nodes = std::atoi(next().c_str());
    else if (a == "--db")
      o.db = next();
    else if (a == "--postgres")
      o.postgres = true;
    else if (a == "--report")
      o.report = next();
    else if (a == "--summary")
      o.summary = next();
    else if (a == "--bin")
      o.bin = next();
    else if (a == "--keep")
      o.keep = true;
    else {
      std::cerr << "usage: converge_load [--users N] [--snaps M] [--fetch-every K] [--nodes N] "
                   "[--db URL | --postgres] [--report FILE] [--summary FILE] [--bin PATH] "
                   "[--keep]\n";
      return 2;
    }
  }
  if (o.users < 1 || o.snaps < 1 || o.fetch_every < 1 || o.nodes < 1) {
    std::cerr << "converge_load: --users, --snaps, --fetch-every and --nodes must be at least 1\n";
    return 2;
  }
  if (o.postgres && !o.db.empty()) {
    std::cerr << "converge_load: --db and --postgres exclude each other: --db names a database, "
                 "--postgres starts a cluster of its own\n";
    return 2;
  }
  if (o.nodes > 1 && o.db.empty() && !o.postgres) {
    std::cerr << "converge_load: several nodes share one PostgreSQL database: pass --db URL (an "
                 "empty database) or --postgres\n";
    return 2;
  }
  converge::Status st = converge::load::Run(o);
  if (!st.ok()) {
    std::cerr << "converge_load: " << st.message() << "\n";
    return 1;
  }
  return 0;
}

#include "browser/cdp.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

extern char** environ;

namespace converge::testing {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Moves `fd` to a number of 10 or more (close-on-exec), so that the child's
// dup2 onto 3 and 4 never meets one of the pipe ends themselves.
int HighFd(int fd) {
  int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  if (high < 0) throw std::runtime_error(std::string("fcntl: ") + std::strerror(errno));
  return high;
}

// Chromium's environment: ours without what the sanitizer builds of the
// tests set (Chromium is not built with them), with HOME and the XDG dirs in
// its own temp dir so nothing is written to the real home.
std::vector<std::string> BrowserEnv(const fs::path& home) {
  static const std::set<std::string> kDropped = {
      "LD_PRELOAD",   "ASAN_OPTIONS",  "UBSAN_OPTIONS",   "LSAN_OPTIONS",
      "TSAN_OPTIONS", "MSAN_OPTIONS",  "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
      "HOME",         "XDG_DATA_HOME", "TMPDIR"};
  std::vector<std::string> env;
  for (char** e = environ; *e; e++) {
    std::string kv = *e;
    if (!kDropped.count(kv.substr(0, kv.find('=')))) env.push_back(kv);
  }
  env.push_back("HOME=" + home.string());
  env.push_back("XDG_CONFIG_HOME=" + (home / ".config").string());
  env.push_back("XDG_CACHE_HOME=" + (home / ".cache").string());
  env.push_back("XDG_DATA_HOME=" + (home / ".local/share").string());
  // Chromium makes its singleton directory (org.chromium.Chromium.*) in the
  // temp dir and removes it only on a clean exit; we kill it.
  env.push_back("TMPDIR=" + (home / "tmp").string());
  return env;
}

// Chromium starts its crash handler (chrome_crashpad_handler) in a session
// of its own, so killing Chromium's process group misses it (it ends by
// itself soon after the browser, but may still write to the profile). As
// its subreaper we are its parent: kill and reap our children of that name.
void KillCrashHandlers() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
    size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string comm = stat.substr(open + 1, close - open - 1);
    int ppid = -1;
    char state;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
    if (ppid != ::getpid() || comm.rfind("chrome_crashpad", 0) != 0) continue;
    pid_t pid = std::stoi(name);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

std::string Chromium::Find() {
  const char* env = std::getenv("CONVERGE_CHROMIUM");
  if (env && *env) return ::access(env, X_OK) == 0 ? env : "";
  for (const char* p : {"/usr/lib/chromium/chromium", "/usr/bin/chromium"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

Chromium::Chromium(const std::string& binary) {
  try {
    Launch(binary);
    product_ = Send("Browser.getVersion").value("product", "");
  } catch (...) {
    Stop();  // no destructor runs for a constructor that throws
    throw;
  }
}

void Chromium::Launch(const std::string& binary) {
  // The test process adopts Chromium's helpers if Chromium dies first, so the
  // destructor can reap every one of them.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::signal(SIGPIPE, SIG_IGN);
  fs::create_directories(dir() / "home" / "tmp");
  fs::create_directories(dir() / "downloads");
  // --disable-dev-shm-usage: /dev/shm is often small in containers.
  std::vector<std::string> args = {binary,
                                   "--headless=new",
                                   "--remote-debugging-pipe",
                                   "--user-data-dir=" + (dir() / "profile").string(),
                                   "--no-first-run",
                                   "--no-default-browser-check",
                                   "--disable-gpu",
                                   "--disable-dev-shm-usage",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--disable-extensions",
                                   "--password-store=basic",
                                   "--mute-audio",
                                   "--window-size=1280,900"};
  // Chromium's sandbox refuses to run as root (CI runs the tests as root).
  if (::geteuid() == 0) args.push_back("--no-sandbox");
  args.push_back("about:blank");
  std::vector<std::string> env = BrowserEnv(dir() / "home");
  std::vector<char*> cargs = CStrings(args), cenv = CStrings(env);

  int in[2], out[2];  // in: we write, Chromium reads (its fd 3); out: the reverse (fd 4)
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  for (int* fd : {&in[0], &in[1], &out[0], &out[1]}) *fd = HighFd(*fd);
  int log =
      ::open((dir() / "chromium.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0) throw std::runtime_error("cannot open the browser's log file");
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here to execve.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::dup2(in[0], 3);
    ::dup2(out[1], 4);
    ::close_range(5, ~0U, 0);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(cargs[0], cargs.data(), cenv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(log);
  ::close(null);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  ::setpgid(pid, pid);  // also here: whichever runs first
  pid_ = pid;
  to_browser_ = in[1];
  from_browser_ = out[0];
  ::fcntl(to_browser_, F_SETFL, ::fcntl(to_browser_, F_GETFL) | O_NONBLOCK);
}

Chromium::~Chromium() {
  Stop();
}

void Chromium::Stop() {
  if (to_browser_ >= 0) ::close(to_browser_);
  if (from_browser_ >= 0) ::close(from_browser_);
  to_browser_ = from_browser_ = -1;
  if (pid_ <= 0) return;
  // The whole group: the browser and its renderer, GPU and utility
  // processes. We are their subreaper, so waiting on the group returns only
  // once every one of them is gone; then the profile can be removed.
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  for (;;) {
    pid_t r = ::waitpid(-pid_, nullptr, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;  // ECHILD: none left
  }
  pid_ = -1;
  KillCrashHandlers();
}

std::string Chromium::LogTail() const {
  std::ifstream f(dir() / "chromium.log", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return all.size() > 4096 ? all.substr(all.size() - 4096) : all;
}

void Chromium::Fail(const std::string& what) const {
  throw std::runtime_error("chromium: " + what + "\n--- the end of chromium's log:\n" + LogTail());
}

void Chromium::Write(const std::string& message) {
  std::string bytes = message + '\0';
  Clock::time_point deadline = Clock::now() + kTimeout;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(to_browser_, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) Fail(std::string("writing to its pipe: ") + std::strerror(errno));
    pollfd p = {to_browser_, POLLOUT, 0};
    if (::poll(&p, 1, MillisLeft(deadline)) == 0) Fail("it reads no commands any more");
  }
}

bool Chromium::ReadSome(Clock::time_point deadline, const std::string& waiting_for) {
  pollfd p = {from_browser_, POLLIN, 0};
  int ready = ::poll(&p, 1, MillisLeft(deadline));
  if (ready < 0 && errno == EINTR) return true;
  if (ready <= 0) return false;
  char chunk[1 << 16];
  ssize_t n = ::read(from_browser_, chunk, sizeof chunk);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) Fail("it exited (its pipe closed) while we waited for " + waiting_for);
  buffer_.append(chunk, static_cast<size_t>(n));
  size_t start = 0;
  for (size_t end; (end = buffer_.find('\0', start)) != std::string::npos; start = end + 1) {
    json m = json::parse(buffer_.begin() + static_cast<std::ptrdiff_t>(start),
                         buffer_.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
    if (m.is_discarded()) Fail("it sent a message that is not JSON");
    if (m.contains("id"))
      answers_.push_back(std::move(m));
    else
      events_.push_back(std::move(m));
  }
  buffer_.erase(0, start);
  return true;
}

json Chromium::Send(const std::string& method, const json& params, const std::string& session) {
  int id = ++next_id_;
  json m = {{"id", id}, {"method", method}, {"params", params}};
  if (!session.empty()) m["sessionId"] = session;
  Write(m.dump());
  Clock::time_point deadline = Clock::now() + kTimeout;
  for (;;) {
    for (auto it = answers_.begin(); it != answers_.end(); ++it) {
      if ((*it)["id"] != id) continue;
      json answer = std::move(*it);
      answers_.erase(it);
      if (answer.contains("error"))
        Fail(method + " " + params.dump() + " failed: " + answer["error"].dump());
      return answer.value("result", json::object());
    }
    if (!ReadSome(deadline, method)) Fail("no answer to " + method + " within 30 s");
  }
}

json Chromium::WaitFor(const std::string& method, const std::string& session,
                       const std::function<bool(const json&)>& match) {
  Clock::time_point deadline = Clock::now() + kTimeout;
  size_t seen = 0;
  for (;;) {
    for (; seen < events_.size(); seen++) {
      const json& e = events_[seen];
      if (e.value("method", "") != method || e.value("sessionId", "") != session) continue;
      if (match && !match(e.value("params", json::object()))) continue;
      json found = e.value("params", json::object());
      events_.erase(events_.begin() + static_cast<std::ptrdiff_t>(seen));
      return found;
    }
    if (!ReadSome(deadline, method)) Fail("no " + method + " event within 30 s");
  }
}

std::vector<json> Chromium::TakeAll(const std::string& session) {
  while (ReadSome(Clock::now(), "events")) {
  }
  std::vector<json> out;
  for (auto it = events_.begin(); it != events_.end();) {
    if (it->value("sessionId", "") == session) {
      out.push_back(std::move(*it));
      it = events_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

// --- Tab

Tab::Tab(Chromium& browser) : browser_(browser) {
  target_ = browser_.Send("Target.createTarget", {{"url", "about:blank"}})["targetId"];
  session_ = browser_.Send("Target.attachToTarget",
                           {{"targetId", target_}, {"flatten", true}})["sessionId"];
  Send("Page.enable");
  Send("Page.setLifecycleEventsEnabled", {{"enabled", true}});
  Send("Network.enable");
  Send("DOM.enable");
  frame_ = Send("Page.getFrameTree")["frameTree"]["frame"]["id"];
}

void Tab::Absorb() {
  for (const json& e : browser_.TakeAll(session_)) {
    const std::string method = e.value("method", "");
    const json& p = e["params"];
    if (method == "Network.responseReceived" && p.value("type", "") == "Document" &&
        p.value("frameId", "") == frame_ && p.value("loaderId", "") == loader_)
      status_ = p["response"].value("status", -1);
    if (method == "Page.javascriptDialogOpening") dialogs_.push_back(p.value("message", ""));
  }
}

void Tab::WaitForLoad(std::string loader, const std::string& what) {
  try {
    browser_.WaitFor("Page.lifecycleEvent", session_, [&](const json& p) {
      if (p.value("frameId", "") != frame_) return false;
      if (loader.empty() && p.value("name", "") == "init") loader = p.value("loaderId", "");
      return !loader.empty() && p.value("name", "") == "load" && p.value("loaderId", "") == loader;
    });
  } catch (const std::runtime_error& e) {
    Absorb();
    std::string opened;
    for (const std::string& d : dialogs_) opened += " [dialog: " + d + "]";
    throw std::runtime_error(what + ": no page loaded" + opened + "\n" + e.what());
  }
  loader_ = loader;
  status_ = -1;
  Absorb();
}

void Tab::Navigate(const std::string& url) {
  Absorb();
  json r = Send("Page.navigate", {{"url", url}});
  if (!r.value("errorText", "").empty())
    browser_.Fail("loading " + url + ": " + r["errorText"].get<std::string>());
  WaitForLoad(r.value("loaderId", ""), "loading " + url);
}

int Tab::NodeOf(const std::string& selector) {
  int root = Send("DOM.getDocument", {{"depth", 0}})["root"]["nodeId"];
  int node = Send("DOM.querySelector", {{"nodeId", root}, {"selector", selector}})["nodeId"];
  if (node == 0) throw std::runtime_error("no element matches `" + selector + "` on " + Url());
  return node;
}

void Tab::Click(const std::string& selector) {
  int node = NodeOf(selector);
  Send("DOM.scrollIntoViewIfNeeded", {{"nodeId", node}});
  json quads = Send("DOM.getContentQuads", {{"nodeId", node}})["quads"];
  if (quads.empty()) throw std::runtime_error("`" + selector + "` is not visible on " + Url());
  double x = 0, y = 0;
  for (int i = 0; i < 8; i += 2) {
    x += quads[0][i].get<double>() / 4;
    y += quads[0][i + 1].get<double>() / 4;
  }
  Send("Input.dispatchMouseEvent", {{"type", "mouseMoved"}, {"x", x}, {"y", y}});
  for (const char* type : {"mousePressed", "mouseReleased"})
    Send("Input.dispatchMouseEvent",
         {{"type", type}, {"x", x}, {"y", y}, {"button", "left"}, {"clickCount", 1}});
}

void Tab::ClickAndWait(const std::string& selector) {
  Absorb();
  Click(selector);
  WaitForLoad("", "clicking `" + selector + "`");
}

void Tab::Type(const std::string& selector, const std::string& text) {
  Send("DOM.focus", {{"nodeId", NodeOf(selector)}});
  Send("Input.insertText", {{"text", text}});
}

json Tab::Eval(const std::string& expression) {
  json r = Send("Runtime.evaluate",
                {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
  if (r.contains("exceptionDetails"))
    throw std::runtime_error("evaluating `" + expression + "`: " + r["exceptionDetails"].dump());
  return r["result"].value("value", json());
}

std::string Tab::Url() {
  return Send("DOM.getDocument", {{"depth", 0}})["root"].value("documentURL", "");
}

std::string Tab::Html() {
  int root = Send("DOM.getDocument", {{"depth", 0}})["root"]["nodeId"];
  return Send("DOM.getOuterHTML", {{"nodeId", root}})["outerHTML"];
}

void Tab::Screenshot(const fs::path& path) {
  json size = Send("Page.getLayoutMetrics")["cssContentSize"];
  double height = std::min(size["height"].get<double>(), 4000.0);
  std::string b64 = Send(
      "Page.captureScreenshot",
      {{"format", "png"},
       {"captureBeyondViewport", true},
       {"clip",
        {{"x", 0}, {"y", 0}, {"width", size["width"]}, {"height", height}, {"scale", 1}}}})["data"];
  std::string png(b64.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(png.data()), png.size(), b64.data(),
                        b64.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    throw std::runtime_error("Page.captureScreenshot sent data that is not base64");
  png.resize(len);
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << png;
}

}  // namespace converge::testing

// Test support for the browser tests: a real headless Chromium (Debian's
// `chromium` package, scripts/deps.sh) driven over the Chrome DevTools
// Protocol on --remote-debugging-pipe: commands are JSON messages ended by a
// NUL byte, written to the browser's fd 3; answers and events come back the
// same way on its fd 4. No npm, no node, no WebSocket: one process, two pipes.
//
// Failures (an error answer, no answer within kTimeout, the browser gone)
// throw std::runtime_error naming the command and the tail of Chromium's log;
// GoogleTest reports a thrown test as failed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.h"

namespace converge::testing {

// One headless Chromium with a throwaway profile. It runs in a process group
// of its own, is killed (the whole group, SIGKILL) by the destructor and also
// when the test process dies (PR_SET_PDEATHSIG); its temp dir (profile, HOME,
// log, downloads) is removed after. The sanitizers' variables and LD_PRELOAD
// are not passed on: Chromium is not built with them.
class Chromium {
 public:
  // Every command and every wait gives up after this long.
  static constexpr std::chrono::seconds kTimeout{30};

  // The browser to run: $CONVERGE_CHROMIUM, else Debian's
  // /usr/lib/chromium/chromium (what /usr/bin/chromium runs); "" when neither
  // is an executable file.
  static std::string Find();

  // Starts `binary` and waits until it answers Browser.getVersion.
  explicit Chromium(const std::string& binary);
  ~Chromium();
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  // Sends `method` to the browser ("" session) or to an attached target's
  // flat session and returns its "result".
  nlohmann::json Send(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::object(),
                      const std::string& session = "");
  // Takes the first event `method` of `session` that arrived and was not
  // taken yet, waiting for one; `match` (when given) must accept its params.
  nlohmann::json WaitFor(const std::string& method, const std::string& session,
                         const std::function<bool(const nlohmann::json&)>& match = nullptr);
  // Takes every event of `session` that arrived so far (reads what is in the
  // pipe first, without waiting).
  std::vector<nlohmann::json> TakeAll(const std::string& session);

  std::string product() const { return product_; }
  // A directory that lives as long as the browser (downloads go there).
  const fs::path& dir() const { return dir_.path(); }
  // What Chromium wrote to stdout and stderr so far (its last 4 KiB).
  std::string LogTail() const;
  // Throws std::runtime_error: `what` and the end of Chromium's log.
  [[noreturn]] void Fail(const std::string& what) const;

 private:
  void Launch(const std::string& binary);
  // Kills the browser, its helpers and its crash handler, and reaps them.
  void Stop();
  void Write(const std::string& message);
  // Reads one more chunk from the pipe into events_/answers, waiting until
  // `deadline`; false when the deadline passed.
  bool ReadSome(std::chrono::steady_clock::time_point deadline, const std::string& waiting_for);

  TempDir dir_;  // destroyed last: after the process is gone
  pid_t pid_ = -1;
  int to_browser_ = -1, from_browser_ = -1;
  int next_id_ = 0;
  std::string buffer_;
  std::deque<nlohmann::json> events_;
  std::vector<nlohmann::json> answers_;
  std::string product_;
};

// One tab (a page target attached with a flat session), with the page,
// network and DOM domains enabled, waiting for each new document to load.
class Tab {
 public:
  explicit Tab(Chromium& browser);

  // Loads `url` and waits for its load event.
  void Navigate(const std::string& url);
  // Clicks the first element matching the CSS `selector` with real mouse
  // events at its centre (works without JavaScript).
  void Click(const std::string& selector);
  // Clicks, then waits for the new document the click opened to load.
  void ClickAndWait(const std::string& selector);
  // Focuses the first element matching `selector` and types `text` into it.
  void Type(const std::string& selector, const std::string& text);

  // Evaluates `expression` in the page (DevTools evaluation runs even where
  // the page's own scripts may not) and returns its value; a promise is
  // awaited.
  nlohmann::json Eval(const std::string& expression);
  // The document's URL and its serialized HTML, read through the DOM domain.
  std::string Url();
  std::string Html();
  // The HTTP status of the current document's response (-1 when unknown).
  int status() const { return status_; }
  // Messages of JavaScript dialogs (alert, confirm, ...) the page opened.
  const std::vector<std::string>& dialogs() const { return dialogs_; }

  // A PNG of the whole page (up to 4000 CSS pixels down) written to `path`.
  void Screenshot(const fs::path& path);

  nlohmann::json Send(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::object()) {
    return browser_.Send(method, params, session_);
  }

 private:
  int NodeOf(const std::string& selector);
  // Waits for the load event of document `loader` ("": of the next document
  // committed in the main frame), then notes its status and any dialogs.
  void WaitForLoad(std::string loader, const std::string& what);
  void Absorb();

  Chromium& browser_;
  std::string target_, session_, frame_;
  int status_ = -1;
  std::string loader_;
  std::vector<std::string> dialogs_;
};

}  // namespace converge::testing

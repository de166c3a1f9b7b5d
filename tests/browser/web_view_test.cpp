// End to end in a real headless Chromium (browser/cdp.h): the web view
// (docs/server.md, "The web view") as a reader meets it. Signing in through
// the form (the page's own CSRF field, real mouse clicks), the repo list, a
// repo, a publication, a file and its download, a hidden repo's URL, signing
// out; markup in notes and names never runs, and the Content-Security-Policy
// stops an inline script the browser is handed; without JavaScript the forms
// still work; at phone width no page is wider than the screen. Each page is
// saved as a PNG under the build dir (build/browser-screenshots/).
//
// Without Chromium the tests skip, unless CONVERGE_REQUIRE_BROWSER=1 (set by
// scripts/test.sh, which installs it): then they fail.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "api/pack.h"
#include "browser/cdp.h"
#include "support/objects.h"
#include "support/server.h"

namespace converge::testing {
namespace {

using nlohmann::json;

const std::string kNote = "<script>window.__xss=1;alert(1)</script> & more";
const std::string kImgName = "<img src=x onerror=\"window.__xss=2\">";
const std::string kText = "hello <b>web</b>\n";

// The table cells holding one short word that the browser broke across
// lines.
constexpr char kBrokenWords[] = R"js([...document.querySelectorAll('main td')]
    .filter(td => td.childNodes.length == 1 && td.firstChild.nodeType == Node.TEXT_NODE &&
                  /^\w{1,12}$/.test(td.textContent))
    .filter(td => {
      const r = document.createRange();
      r.selectNodeContents(td.firstChild);
      return r.getClientRects().length > 1;
    })
    .map(td => td.textContent))js";

fs::path ScreenshotDir() {
  const char* env = std::getenv("CONVERGE_SCREENSHOT_DIR");
  return env && *env ? fs::path(env) : fs::path(CONVERGE_BROWSER_SCREENSHOTS);
}

class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string binary = Chromium::Find();
    if (binary.empty()) {
      const char* required = std::getenv("CONVERGE_REQUIRE_BROWSER");
      if (required && std::string(required) == "1")
        FAIL() << "no Chromium (CONVERGE_CHROMIUM or /usr/lib/chromium/chromium), and "
                  "CONVERGE_REQUIRE_BROWSER=1: run scripts/deps.sh";
      GTEST_SKIP() << "no Chromium: install Debian's chromium (scripts/deps.sh does) or point "
                      "CONVERGE_CHROMIUM at one";
    }
    server_ = std::make_unique<ServerProcess>();
    ASSERT_NO_FATAL_FAILURE(MakeRepos());
    browser_ = std::make_unique<Chromium>(binary);
  }

  // Two repos of `owner`: "shared", which the reader may read, holding one
  // publication, and "secret", which the reader may not.
  void MakeRepos() {
    Api admin(server_->port(), server_->admin_token());
    std::string owner = admin.CreateUser("owner");
    reader_ = admin.CreateUser("reader");
    for (const char* name : {"shared", "secret"})
      ASSERT_EQ(admin.Post("/v1/repos", {{"name", name}, {"admin", "owner"}}).status, 201);
    ASSERT_EQ(admin.Put("/v1/repos/shared/members/reader", {{"role", "read"}}).status, 200);
    Api own(server_->port(), owner);
    json graph = {{"gates",
                   {{{"id", "dev-intake"}, {"upstream", json::array()}},
                    {{"id", "review"}, {"upstream", {"dev-intake"}}},
                    {{"id", "release"}, {"upstream", {"review"}}}}}};
    ASSERT_EQ(own.Put("/v1/repos/shared/gate-graph", graph).status, 200);

    TestObject a = Blob(kText), img = Blob("an image's name"), deep = Blob("deep\n");
    TestObject sub = ManifestOf({FileEntry("deep.txt", deep)});
    Entry run = FileEntry("run.sh", Blob("#!/bin/sh\necho hi\n"));
    run.executable = true;
    TestObject run_blob = Blob("#!/bin/sh\necho hi\n");
    Entry link;
    link.name = "link";
    link.type = EntryType::kSymlink;
    link.target = "sub/deep.txt";
    TestObject root = ManifestOf(
        {FileEntry("a.txt", a), FileEntry(kImgName, img), run, link, DirEntry("sub", sub)});
    TestObject snap = SnapOf(root, "first <i>snap</i>");
    Reply up = own.PostBytes("/v1/repos/shared/objects/pack",
                             PackOf({a, img, deep, sub, run_blob, root, snap}), kPackContentType);
    ASSERT_EQ(up.status, 200) << up.body;
    Reply p = own.Post("/v1/repos/shared/publications", {{"snap", snap.hex()},
                                                         {"scope", "main"},
                                                         {"gate", "dev-intake"},
                                                         {"lane", "default"},
                                                         {"note", kNote},
                                                         {"workspace_id", "ws-laptop"},
                                                         {"client_version", "0.1.0"},
                                                         {"host", "laptop"}});
    ASSERT_EQ(p.status, 201) << p.body;
    pub_ = p.json()["id"].get<std::string>();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  std::string PubPath() const { return "/r/shared/p/" + pub_; }

  // Saves the page as SHOTS-NN-name.png and prints where.
  void Shot(Tab& tab, const std::string& name) {
    char nn[8];
    std::snprintf(nn, sizeof nn, "%02d", ++shots_taken_);
    fs::path path = ScreenshotDir() / (shots_ + "-" + nn + "-" + name + ".png");
    tab.Screenshot(path);
    std::cout << "screenshot: " << path.string() << std::endl;
  }

  // Signs in through the form: the token typed into its field, the button
  // clicked; the form's hidden CSRF field is the page's own.
  void SignIn(Tab& tab, const std::string& token) {
    tab.Navigate(Url("/signin"));
    tab.Type("#token", token);
    tab.ClickAndWait("main button[type=submit]");
  }

  static std::string Text(Tab& tab) { return tab.Eval("document.body.innerText"); }
  static bool Has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Chromium> browser_;  // after server_: gone first
  std::string reader_, pub_;
  std::string shots_ = "page";
  int shots_taken_ = 0;
};

TEST_F(BrowserTest, AReaderSignsInBrowsesAFileAndSignsOut) {
  shots_ = "reader";
  Tab tab(*browser_);
  tab.Navigate(Url("/"));
  EXPECT_EQ(tab.Url(), Url("/signin")) << "no session: the sign-in form";
  Shot(tab, "signin");

  SignIn(tab, reader_);
  ASSERT_EQ(tab.Url(), Url("/")) << Text(tab);
  EXPECT_EQ(tab.status(), 200);
  std::string repos = Text(tab);
  EXPECT_TRUE(Has(repos, "shared\tread")) << repos;
  EXPECT_FALSE(Has(repos, "secret")) << repos;
  EXPECT_FALSE(Has(tab.Html(), reader_.substr(4))) << "the token is nowhere in the page";
  Shot(tab, "repos");

  tab.ClickAndWait("main a[href=\"/r/shared\"]");
  ASSERT_EQ(tab.Url(), Url("/r/shared"));
  std::string repo = Text(tab);
  for (const char* want : {"your role: read", "dev-intake", "review", "release", "owner"})
    EXPECT_TRUE(Has(repo, want)) << want << "\n" << repo;
  EXPECT_TRUE(Has(repo, pub_.substr(0, 12))) << repo;
  EXPECT_EQ(tab.Eval("document.querySelectorAll('svg text').length"), 3) << "the gate graph";
  // Table columns are not squeezed to break short words ("owne|r").
  EXPECT_EQ(tab.Eval(kBrokenWords), json::array()) << "words broken across lines";
  Shot(tab, "repo");

  tab.ClickAndWait("main a[href^=\"/r/shared/p/\"]");
  ASSERT_EQ(tab.Url(), Url(PubPath()));
  std::string pub = Text(tab);
  for (const std::string& want :
       {kNote, std::string("ws-laptop"), std::string("laptop"), std::string("first <i>snap</i>"),
        kImgName, std::string("run.sh"), std::string("exec"), std::string("sub/"),
        std::string("sub/deep.txt")})
    EXPECT_TRUE(Has(pub, want)) << want << "\n" << pub;
  Shot(tab, "publication");

  tab.ClickAndWait("main a[href$=\"/a.txt\"]");
  ASSERT_EQ(tab.Url(), Url(PubPath() + "/a.txt"));
  EXPECT_EQ(tab.Eval("[...document.querySelectorAll('main pre')].pop().textContent"), kText);
  EXPECT_EQ(tab.Eval("document.querySelectorAll('main b').length"), 0);
  Shot(tab, "file");

  // The Download link saves the file's bytes.
  browser_->Send("Browser.setDownloadBehavior",
                 {{"behavior", "allowAndName"},
                  {"downloadPath", (browser_->dir() / "downloads").string()},
                  {"eventsEnabled", true}});
  tab.Click("main a[href*=\"/raw/\"]");
  json begun = browser_->WaitFor("Browser.downloadWillBegin", "");
  EXPECT_EQ(begun["suggestedFilename"], "a.txt");
  json done = browser_->WaitFor("Browser.downloadProgress", "",
                                [](const json& p) { return p["state"] != "inProgress"; });
  ASSERT_EQ(done["state"], "completed");
  EXPECT_EQ(ReadFileOrDie(browser_->dir() / "downloads" / begun["guid"].get<std::string>()), kText);

  // A repo the reader may not read is the same page as one that is not there.
  tab.Navigate(Url("/r/secret"));
  EXPECT_EQ(tab.status(), 404);
  std::string hidden = tab.Html();
  Shot(tab, "hidden-repo");
  tab.Navigate(Url("/r/nosuchrepo"));
  EXPECT_EQ(tab.status(), 404);
  EXPECT_EQ(tab.Html(), hidden);
  EXPECT_TRUE(Has(Text(tab), "Not found"));
  EXPECT_FALSE(Has(hidden, "secret"));
  tab.Navigate(Url("/r/secret/p/" + pub_));
  EXPECT_EQ(tab.status(), 404);
  EXPECT_EQ(tab.Html(), hidden);

  // Sign out: back at the form, and the old cookie is dead.
  json cookies = tab.Send("Network.getCookies", {{"urls", {Url("/")}}})["cookies"];
  json session;
  for (const json& c : cookies)
    if (c["name"] == "converge_session") session = c;
  ASSERT_FALSE(session.is_null()) << cookies.dump();
  EXPECT_EQ(session["httpOnly"], true);
  EXPECT_EQ(session["sameSite"], "Strict");
  tab.ClickAndWait("header button[type=submit]");
  EXPECT_EQ(tab.Url(), Url("/signin"));
  Shot(tab, "signed-out");
  tab.Navigate(Url("/r/shared"));
  EXPECT_EQ(tab.Url(), Url("/signin"));
  json again = {{"name", "converge_session"}, {"value", session["value"]}, {"url", Url("/")},
                {"httpOnly", true},           {"sameSite", "Strict"},      {"path", "/"}};
  ASSERT_EQ(tab.Send("Network.setCookie", again)["success"], true);
  tab.Navigate(Url("/r/shared"));
  EXPECT_EQ(tab.Url(), Url("/signin")) << "the signed-out session id still works";
  EXPECT_TRUE(tab.dialogs().empty());
}

TEST_F(BrowserTest, MarkupInNotesAndNamesNeverRunsAndThePolicyStopsInlineScript) {
  shots_ = "markup";
  Tab tab(*browser_);
  SignIn(tab, reader_);
  tab.Navigate(Url(PubPath()));
  ASSERT_EQ(tab.status(), 200);
  // The note and the file name are text on the page, not elements.
  std::string text = Text(tab);
  EXPECT_TRUE(Has(text, kNote)) << text;
  EXPECT_TRUE(Has(text, kImgName)) << text;
  EXPECT_EQ(tab.Eval("document.scripts.length"), 0);
  EXPECT_EQ(tab.Eval("document.images.length"), 0);
  EXPECT_EQ(tab.Eval("typeof window.__xss"), "undefined");
  EXPECT_TRUE(tab.dialogs().empty()) << tab.dialogs()[0];
  Shot(tab, "publication");

  // An inline script put into the page: the policy blocks it and the browser
  // reports the violation. With the policy bypassed, the same script runs:
  // the check sees a script that does run.
  const std::string inject = R"js(new Promise(done => {
      document.addEventListener('securitypolicyviolation',
          e => done({ran: window.__inline === 1, blocked: e.effectiveDirective}), {once: true});
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.body.appendChild(s);
      if (window.__inline === 1) done({ran: true, blocked: ''});
      setTimeout(() => done({ran: window.__inline === 1, blocked: 'no report'}), 10000);
    }))js";
  json enforced = tab.Eval(inject);
  EXPECT_EQ(enforced["ran"], false) << enforced.dump();
  EXPECT_EQ(enforced["blocked"], "script-src-elem") << enforced.dump();
  tab.Send("Page.setBypassCSP", {{"enabled", true}});
  tab.Navigate(Url(PubPath()));
  json bypassed = tab.Eval(inject);
  EXPECT_EQ(bypassed["ran"], true) << bypassed.dump();
}

TEST_F(BrowserTest, WithoutJavaScriptSigningInBrowsingAndSigningOutWork) {
  shots_ = "nojs";
  Tab tab(*browser_);
  tab.Send("Emulation.setScriptExecutionDisabled", {{"value", true}});
  SignIn(tab, reader_);
  ASSERT_EQ(tab.Url(), Url("/"));
  tab.ClickAndWait("main a[href=\"/r/shared\"]");
  tab.ClickAndWait("main a[href^=\"/r/shared/p/\"]");
  tab.ClickAndWait("main a[href$=\"/sub\"]");
  EXPECT_EQ(tab.Url(), Url(PubPath() + "/sub"));
  EXPECT_TRUE(Has(tab.Html(), "deep.txt"));
  Shot(tab, "directory");
  tab.ClickAndWait("header button[type=submit]");
  EXPECT_EQ(tab.Url(), Url("/signin"));
  tab.Navigate(Url("/"));
  EXPECT_EQ(tab.Url(), Url("/signin"));
}

TEST_F(BrowserTest, AtPhoneWidthNoPageIsWiderThanTheScreen) {
  shots_ = "phone";
  Tab tab(*browser_);
  tab.Send("Emulation.setDeviceMetricsOverride",
           {{"width", 375}, {"height", 740}, {"deviceScaleFactor", 1}, {"mobile", true}});
  tab.Navigate(Url("/signin"));
  EXPECT_LE(tab.Eval("document.documentElement.scrollWidth").get<int>(), 375);
  Shot(tab, "signin");
  SignIn(tab, reader_);
  const std::vector<std::pair<std::string, std::string>> pages = {{"/", "repos"},
                                                                  {"/r/shared", "repo"},
                                                                  {PubPath(), "publication"},
                                                                  {PubPath() + "/a.txt", "file"},
                                                                  {"/r/secret", "hidden-repo"}};
  for (const auto& [path, name] : pages) {
    tab.Navigate(Url(path));
    EXPECT_EQ(tab.Url(), Url(path));
    EXPECT_LE(tab.Eval("document.documentElement.scrollWidth").get<int>(), 375) << path;
    Shot(tab, name);
  }
}

}  // namespace
}  // namespace converge::testing

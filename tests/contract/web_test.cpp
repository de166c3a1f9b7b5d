// Contract: the web view (docs/server.md, "The web view"): sessions, CSRF,
// the same permissions as the API (a hidden repo is the same 404 page as a
// missing one), escaping, headers, downloads, --no-web.

#include <regex>

#include "fixtures.h"
#include "support/store_helpers.h"
#include "web_browser.h"

namespace converge::testing {
namespace {

class WebTest : public ContractTest {
 protected:
  void SetUp() override {
    owner_ = NewUser("webowner");
    reader_ = NewUser("webreader");
    outsider_ = NewUser("weboutsider");
    repo_ = NewRepo(owner_);
    Grant(repo_, HandleOf(reader_), "read");
    content_ = "hello <b>web</b>\n";
    TestObject a = Blob(content_), img = Blob("tag"), bin = Blob(std::string("\0\1\2", 3));
    TestObject sub = ManifestOf({FileEntry("deep.txt", Blob("deep"))});
    Entry exec = FileEntry("run.sh", img);
    exec.executable = true;
    Entry link;
    link.name = "link";
    link.type = EntryType::kSymlink;
    link.target = "../<target>";
    TestObject root = ManifestOf({FileEntry("a.txt", a), FileEntry("<img src=x>", img),
                                  FileEntry("data.bin", bin), exec, link, DirEntry("sub", sub)});
    TestObject snap = SnapOf(root, "message \x1b[31m<i>red</i>");
    std::vector<TestObject> objects = {a, img, bin, Blob("deep"), sub, root, snap};
    Reply up = As(owner_).PostBytes("/v1/repos/" + repo_ + "/objects/pack", PackOf(objects),
                                    kPackContentType);
    ASSERT_EQ(up.status, 200) << up.body;
    Reply p = As(owner_).Post("/v1/repos/" + repo_ + "/publications",
                              {{"snap", snap.hex()},
                               {"scope", "main"},
                               {"gate", "dev-intake"},
                               {"lane", "default"},
                               {"note", "<script>alert(1)</script> & more"},
                               {"workspace_id", "ws-web"},
                               {"client_version", "0.1.0"},
                               {"host", "laptop"}});
    ASSERT_EQ(p.status, 201) << p.body;
    pub_ = p.json()["id"].get<std::string>();
  }
  WebBrowser Browser() { return WebBrowser(server().port()); }
  WebBrowser SignedIn(const std::string& token) {
    WebBrowser b = Browser();
    Reply r = b.SignIn(token);
    EXPECT_EQ(r.status, 303) << r.body;
    EXPECT_EQ(r.header("Location"), "/");
    return b;
  }
  std::string RepoUrl() { return "/r/" + repo_; }
  std::string PubUrl() { return RepoUrl() + "/p/" + pub_; }

  std::string owner_, reader_, outsider_, repo_, pub_, content_;
};

TEST_F(WebTest, PagesWithoutASessionGoToTheSignInForm) {
  WebBrowser b = Browser();
  for (const std::string& path :
       std::vector<std::string>{"/", RepoUrl(), PubUrl(), "/r/nosuchrepo"}) {
    Reply r = b.Get(path);
    EXPECT_EQ(r.status, 303) << path;
    EXPECT_EQ(r.header("Location"), "/signin") << path;
  }
  // A made-up session id is no session.
  b.set_cookie("converge_session", std::string(64, 'a'));
  EXPECT_EQ(b.Get("/").status, 303);
}

TEST_F(WebTest, EveryAnswerCarriesAStrictPolicyAndCookiesAreHttpOnlyStrict) {
  WebBrowser b = Browser();
  Reply form = b.Get("/signin");
  ASSERT_EQ(form.status, 200);
  std::string csp = form.header("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("style-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("form-action 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("script-src"), std::string::npos) << csp;
  EXPECT_EQ(form.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(form.body.find("<script"), std::string::npos);
  Reply in = b.Post("/signin", {{"token", reader_}, {"csrf", b.Csrf(form)}});
  ASSERT_EQ(in.status, 303);
  bool session = false;
  for (const std::string& c : SetCookies(in)) {
    if (c.rfind("converge_session=", 0) != 0) continue;
    session = true;
    EXPECT_NE(c.find("; HttpOnly"), std::string::npos) << c;
    EXPECT_NE(c.find("; SameSite=Strict"), std::string::npos) << c;
    EXPECT_NE(c.find("; Path=/;"), std::string::npos) << c;
    EXPECT_EQ(c.find("Secure"), std::string::npos) << "plain HTTP: " << c;
    // The browser holds a random id, never the token.
    EXPECT_EQ(c.find(reader_.substr(4, 16)), std::string::npos) << c;
  }
  EXPECT_TRUE(session);
  for (const std::string& path :
       std::vector<std::string>{"/", RepoUrl(), PubUrl(), "/r/nosuchrepo"}) {
    Reply r = b.Get(path);
    EXPECT_EQ(r.header("Content-Security-Policy"), csp) << path;
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << path;
  }
  Reply css = b.Get("/style.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.header("Content-Type").rfind("text/css", 0), 0u);
}

TEST_F(WebTest, SignInWithoutTheFormsCsrfValueIsRefused) {
  WebBrowser b = Browser();
  Reply form = b.Get("/signin");
  // No value, a wrong one, and the right one without its cookie.
  EXPECT_EQ(b.Post("/signin", {{"token", reader_}}).status, 403);
  EXPECT_EQ(b.Post("/signin", {{"token", reader_}, {"csrf", std::string(64, '0')}}).status, 403);
  WebBrowser other = Browser();
  Reply r = other.Post("/signin", {{"token", reader_}, {"csrf", b.Csrf(form)}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(other.cookie("converge_session"), "");
  // A browser that says the form came from another site.
  Reply fresh = b.Get("/signin");
  Reply cross = b.Post("/signin", {{"token", reader_}, {"csrf", b.Csrf(fresh)}},
                       {{"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(cross.status, 403);
  EXPECT_EQ(b.cookie("converge_session"), "");
}

TEST_F(WebTest, AWrongTokenIs401AndNoSession) {
  WebBrowser b = Browser();
  Reply r = b.SignIn("cvg_0123456789abcdef_" + std::string(64, '0'));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(b.cookie("converge_session"), "");
  EXPECT_NE(r.body.find("Sign in"), std::string::npos);
}

TEST_F(WebTest, AReaderSeesTheRepoThePublicationAndAFile) {
  WebBrowser b = SignedIn(reader_);
  Reply repos = b.Get("/");
  ASSERT_EQ(repos.status, 200);
  EXPECT_NE(repos.body.find(">" + repo_ + "</a>"), std::string::npos) << repos.body;
  EXPECT_NE(repos.body.find("<td>read</td>"), std::string::npos);
  Reply repo = b.Get(RepoUrl());
  ASSERT_EQ(repo.status, 200);
  EXPECT_NE(repo.body.find(pub_.substr(0, 12)), std::string::npos);
  EXPECT_NE(repo.body.find("dev-intake"), std::string::npos);
  EXPECT_NE(repo.body.find(HandleOf(owner_)), std::string::npos);
  // Filters: a gate no publication went through shows none.
  EXPECT_EQ(b.Get(RepoUrl() + "?gate=nosuchgate").body.find(pub_.substr(0, 12)), std::string::npos);
  EXPECT_NE(b.Get(RepoUrl() + "?scope=main&lane=default").body.find(pub_.substr(0, 12)),
            std::string::npos);
  Reply pub = b.Get(PubUrl());
  ASSERT_EQ(pub.status, 200);
  for (const char* want : {"ws-web", "laptop", "main", "default", "run.sh", "exec", "sub/",
                           "../&lt;target&gt;", "symlink"})
    EXPECT_NE(pub.body.find(want), std::string::npos) << want;
  Reply dir = b.Get(PubUrl() + "/sub");
  ASSERT_EQ(dir.status, 200);
  EXPECT_NE(dir.body.find("deep.txt"), std::string::npos);
  Reply file = b.Get(PubUrl() + "/a.txt");
  ASSERT_EQ(file.status, 200);
  EXPECT_NE(file.body.find("<pre>hello &lt;b&gt;web&lt;/b&gt;\n</pre>"), std::string::npos)
      << file.body;
  Reply binary = b.Get(PubUrl() + "/data.bin");
  EXPECT_NE(binary.body.find("binary"), std::string::npos);
  EXPECT_EQ(b.Get(PubUrl() + "/nosuchfile").status, 404);
  EXPECT_EQ(b.Get(PubUrl() + "/a.txt/x").status, 404);
}

TEST_F(WebTest, AHiddenRepoIsTheSameNotFoundPageAsAMissingOne) {
  WebBrowser b = SignedIn(outsider_);
  EXPECT_EQ(b.Get("/").body.find(repo_), std::string::npos);
  Reply hidden = b.Get(RepoUrl());
  Reply missing = b.Get("/r/" + Unique("nosuchrepo"));
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(hidden.body, missing.body);
  Reply hidden_pub = b.Get(PubUrl());
  Reply missing_pub = b.Get("/r/" + Unique("nosuchrepo") + "/p/" + pub_);
  EXPECT_EQ(hidden_pub.status, 404);
  EXPECT_EQ(hidden_pub.body, missing_pub.body);
  Reply hidden_raw = b.Get(RepoUrl() + "/raw/" + pub_ + "/a.txt");
  EXPECT_EQ(hidden_raw.status, 404);
  EXPECT_EQ(hidden_raw.body, hidden.body);
  EXPECT_EQ(hidden.body.find(repo_), std::string::npos);
}

TEST_F(WebTest, MarkupInNotesNamesAndMessagesRendersAsText) {
  WebBrowser b = SignedIn(reader_);
  Reply pub = b.Get(PubUrl());
  ASSERT_EQ(pub.status, 200);
  EXPECT_EQ(pub.body.find("<script"), std::string::npos);
  EXPECT_NE(pub.body.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"), std::string::npos);
  EXPECT_EQ(pub.body.find("<img"), std::string::npos);
  EXPECT_NE(pub.body.find("&lt;img src=x&gt;"), std::string::npos);
  EXPECT_EQ(pub.body.find("<i>"), std::string::npos);
  EXPECT_EQ(pub.body.find('\x1b'), std::string::npos);
  EXPECT_NE(pub.body.find("\\x1b[31m&lt;i&gt;red"), std::string::npos);
  Reply repo = b.Get(RepoUrl());
  EXPECT_EQ(repo.body.find("<script"), std::string::npos);
  // The file named "<img src=x>" has a link that works.
  Reply img = b.Get(PubUrl() + "/%3Cimg%20src%3Dx%3E");
  EXPECT_EQ(img.status, 200);
  EXPECT_NE(img.body.find("<pre>tag</pre>"), std::string::npos);
}

TEST_F(WebTest, TheGateGraphIsDrawnAsSvgWithItsNamesEscaped) {
  nlohmann::json graph = {
      {"gates",
       {{{"id", "dev-intake"}, {"upstream", nlohmann::json::array()}},
        {{"id", "review"}, {"upstream", {"dev-intake"}}, {"description", "<script>x</script>"}},
        {{"id", "release"}, {"upstream", {"review"}}}}}};
  ASSERT_EQ(As(owner_).Put("/v1/repos/" + repo_ + "/gate-graph", graph).status, 200);
  WebBrowser b = SignedIn(reader_);
  Reply repo = b.Get(RepoUrl());
  ASSERT_EQ(repo.status, 200);
  size_t svg = repo.body.find("<svg");
  ASSERT_NE(svg, std::string::npos);
  std::string drawing = repo.body.substr(svg, repo.body.find("</svg>") - svg);
  for (const char* gate : {">dev-intake</text>", ">review</text>", ">release</text>"})
    EXPECT_NE(drawing.find(gate), std::string::npos) << gate;
  EXPECT_EQ(std::count(drawing.begin(), drawing.end(), '\n'), 0);
  size_t lines = 0;
  for (size_t at = drawing.find("<line"); at != std::string::npos;
       at = drawing.find("<line", at + 1))
    lines++;
  EXPECT_EQ(lines, 2u) << "one arrow per upstream edge";
  EXPECT_EQ(repo.body.find("<script"), std::string::npos);
  EXPECT_NE(drawing.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
}

TEST_F(WebTest, PublicationsPageBackFiftyAtATime) {
  nlohmann::json pub = As(owner_).Get("/v1/repos/" + repo_ + "/publications/" + pub_).json();
  for (int i = 0; i < 50; i++) {
    nlohmann::json again = {{"snap", pub["snap"]},
                            {"scope", "main"},
                            {"gate", "dev-intake"},
                            {"lane", "default"},
                            {"note", "n" + std::to_string(i)},
                            {"workspace_id", "ws"},
                            {"client_version", "0"},
                            {"host", "h"}};
    ASSERT_EQ(As(owner_).Post("/v1/repos/" + repo_ + "/publications", again).status, 201);
  }
  WebBrowser b = SignedIn(reader_);
  Reply first = b.Get(RepoUrl() + "?lane=default");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.body.find(pub_.substr(0, 12)), std::string::npos) << "the oldest is on page 2";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first.body, m, std::regex("href=\"([^\"]*before=[0-9]+)\"")));
  std::string next = m[1].str();
  for (size_t at; (at = next.find("&amp;")) != std::string::npos;) next.replace(at, 5, "&");
  EXPECT_NE(next.find("lane=default"), std::string::npos) << "the filter carries over: " << next;
  Reply second = b.Get(next);
  ASSERT_EQ(second.status, 200);
  EXPECT_NE(second.body.find(pub_.substr(0, 12)), std::string::npos);
}

TEST_F(WebTest, ADownloadIsTheFilesBytesAsAnAttachment) {
  WebBrowser b = SignedIn(reader_);
  Reply r = b.Get(RepoUrl() + "/raw/" + pub_ + "/a.txt");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, content_);
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(r.header("Content-Disposition").rfind("attachment;", 0), 0u);
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  Reply bin = b.Get(RepoUrl() + "/raw/" + pub_ + "/data.bin");
  EXPECT_EQ(bin.body, std::string("\0\1\2", 3));
  Reply img = b.Get(RepoUrl() + "/raw/" + pub_ + "/%3Cimg%20src%3Dx%3E");
  EXPECT_EQ(img.body, "tag");
  // httplib's client decodes header values: look at the bytes on the wire.
  std::string raw = RawRequest(server().port(),
                               "GET " + RepoUrl() + "/raw/" + pub_ +
                                   "/%3Cimg%20src%3Dx%3E HTTP/1.1\r\nHost: x\r\nCookie: "
                                   "converge_session=" +
                                   b.cookie("converge_session") + "\r\nConnection: close\r\n\r\n");
  EXPECT_NE(raw.find("Content-Disposition: attachment; filename=\"_img_src_x_\"; "
                     "filename*=UTF-8''%3Cimg%20src%3Dx%3E\r\n"),
            std::string::npos)
      << raw;
}

// A 200 cannot be taken back: a damaged file's download is the error page,
// never its bytes and never an attachment.
TEST_F(WebTest, ADamagedFilesDownloadIsAnErrorPageNotA200) {
  std::string content = "to be damaged " + Unique("w") + std::string(1000, 'd');
  TestObject blob = Blob(content);
  TestObject root = ManifestOf({FileEntry("bad.txt", blob)});
  TestObject snap = SnapOf(root, "damaged");
  Reply up = As(owner_).PostBytes("/v1/repos/" + repo_ + "/objects/pack",
                                  PackOf({blob, root, snap}), kPackContentType);
  ASSERT_EQ(up.status, 200) << up.body;
  Reply p = As(owner_).Post("/v1/repos/" + repo_ + "/publications", {{"snap", snap.hex()},
                                                                     {"scope", "main"},
                                                                     {"gate", "dev-intake"},
                                                                     {"lane", "default"},
                                                                     {"workspace_id", "ws-web"}});
  ASSERT_EQ(p.status, 201) << p.body;
  std::string pub = p.json()["id"].get<std::string>();
  DamageEveryCopy(server().data_dir(), blob.id, content.size() / 2);

  WebBrowser b = SignedIn(reader_);
  Reply r = b.Get(RepoUrl() + "/raw/" + pub + "/bad.txt");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.header("Content-Disposition"), "");
  EXPECT_EQ(r.body.find(content.substr(0, 20)), std::string::npos);
  EXPECT_NE(r.body.find("damaged"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find(server().data_dir().string()), std::string::npos);
}

TEST_F(WebTest, RevokingTheTokenEndsTheSessionAtTheNextRequest) {
  Reply made = As(reader_).Post("/v1/tokens", {{"label", "web"}});
  ASSERT_EQ(made.status, 201) << made.body;
  WebBrowser b = SignedIn(made.json()["token"].get<std::string>());
  ASSERT_EQ(b.Get(RepoUrl()).status, 200);
  ASSERT_EQ(As(reader_).Delete("/v1/tokens/" + made.json()["id"].get<std::string>()).status, 200);
  Reply after = b.Get(RepoUrl());
  EXPECT_EQ(after.status, 303);
  EXPECT_EQ(after.header("Location"), "/signin");
}

TEST_F(WebTest, SignOutNeedsTheSessionsCsrfValueAndEndsIt) {
  WebBrowser b = SignedIn(reader_);
  std::string session = b.cookie("converge_session");
  Reply home = b.Get("/");
  EXPECT_EQ(b.Post("/signout", {{"csrf", std::string(64, '0')}}).status, 403);
  EXPECT_EQ(b.Get("/").status, 200) << "a refused sign-out leaves the session";
  Reply out = b.Post("/signout", {{"csrf", b.Csrf(home)}});
  EXPECT_EQ(out.status, 303);
  EXPECT_EQ(b.cookie("converge_session"), "");
  // The old id no longer works, even when a copy of the cookie is sent.
  b.set_cookie("converge_session", session);
  EXPECT_EQ(b.Get("/").status, 303);
}

TEST_F(WebTest, TheAuditLogIsForAdminsAndSaysWhetherItVerifies) {
  WebBrowser admin = SignedIn(server().admin_token());
  Reply log = admin.Get("/audit");
  ASSERT_EQ(log.status, 200);
  EXPECT_NE(log.body.find("publication.create"), std::string::npos);
  EXPECT_NE(log.body.find("session.create"), std::string::npos);
  EXPECT_EQ(log.body.find("<script"), std::string::npos);
  Reply verified = admin.Get("/audit?verify=1");
  ASSERT_EQ(verified.status, 200);
  EXPECT_NE(verified.body.find("Verified: "), std::string::npos) << verified.body.substr(0, 2000);
  EXPECT_EQ(verified.body.find("NOT verify"), std::string::npos);
  // A repo's admin sees its rows; a reader is refused as the API refuses;
  // an outsider gets the same 404 page as for a missing repo.
  Reply own = SignedIn(owner_).Get(RepoUrl() + "/audit");
  ASSERT_EQ(own.status, 200);
  EXPECT_NE(own.body.find("publication.create"), std::string::npos);
  WebBrowser reader = SignedIn(reader_);
  EXPECT_EQ(reader.Get(RepoUrl() + "/audit").status, 403);
  EXPECT_EQ(reader.Get("/audit").status, 403);
  WebBrowser outsider = SignedIn(outsider_);
  Reply hidden = outsider.Get(RepoUrl() + "/audit");
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(hidden.body, outsider.Get("/r/" + Unique("nosuchrepo") + "/audit").body);
}

TEST(WebAuditTamperTest, AnEditedLogIsShownAsNotVerifying) {
  ServerProcess s;
  WebBrowser b(s.port());
  ASSERT_EQ(b.SignIn(s.admin_token()).status, 303);
  ASSERT_NE(b.Get("/audit?verify=1").body.find("Verified: "), std::string::npos);
  Status edited = s.Sql(s.DropTrigger("audit_no_update", "audit") +
                        "UPDATE audit SET detail = '<b>edited</b>' WHERE seq = 1");
  ASSERT_TRUE(edited.ok()) << edited.message();
  Reply r = b.Get("/audit?verify=1");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("does NOT verify"), std::string::npos) << r.body.substr(0, 3000);
  EXPECT_EQ(r.body.find("<b>edited"), std::string::npos);
}

TEST(WebOffTest, NoWebAnswers404AsBefore) {
  ServerOptions off;
  off.config = {{"web", false}};
  ServerProcess s(off);
  WebBrowser b(s.port());
  for (const char* path : {"/", "/signin", "/style.css"}) {
    Reply r = b.Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.header("Content-Type"), "application/json") << path;
  }
  EXPECT_EQ(b.Post("/signin", {{"token", s.admin_token()}}).status, 404);
  EXPECT_EQ(Api(s.port(), s.admin_token()).Get("/v1/whoami").status, 200);
}

}  // namespace
// Behind a trusted proxy the web view sees the client, as the API does: the
// sign-in's audit row names the address X-Forwarded-For gives, and the same
// header from the client itself (not a proxy) names nobody.
TEST(WebBehindAProxyTest, SignInIsAuditedUnderTheClientsAddress) {
  ServerOptions behind;
  behind.args = {"--trusted-proxy", "127.0.0.1"};
  ServerProcess s(behind);
  Api admin(s.port(), s.admin_token());
  WebBrowser b(s.port());
  Reply form = b.Get("/signin");
  Reply in = b.Post("/signin", {{"token", s.admin_token()}, {"csrf", b.Csrf(form)}},
                    {{"X-Forwarded-For", "203.0.113.7"}});
  ASSERT_EQ(in.status, 303) << in.body;
  int from_client = 0, from_proxy = 0;
  Reply log = admin.Get("/v1/audit?limit=100");
  ASSERT_EQ(log.status, 200) << log.body;
  for (const auto& e : log.json()["entries"]) {
    if (e["action"] != "session.create") continue;
    from_client += e["remote_addr"] == "203.0.113.7";
    from_proxy += e["remote_addr"] == "127.0.0.1";
  }
  EXPECT_EQ(from_client, 1);
  EXPECT_EQ(from_proxy, 0);
}

}  // namespace converge::testing

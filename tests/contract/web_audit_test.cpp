// Contract: the web view's audit pages (docs/server.md, "The web view"): the
// filters (actor, action, repo, outcome, since/until) narrow what the API's
// GET /v1/audit and /v1/repos/REPO/audit answer with the same parameters,
// ride along in the paging links percent-encoded, and are echoed escaped; a
// repo admin sees only that repo's rows; verifying runs only when asked.
#include <regex>

#include "base/clock.h"
#include "fixtures.h"
#include "web_browser.h"

namespace converge::testing {
namespace {

// One row of an audit page's table, as shown.
struct ShownRow {
  int64_t seq = 0;
  std::string actor, action, repo, outcome;
};

std::vector<ShownRow> ShownRows(const std::string& page) {
  static const std::regex row(
      "<tr><td>([0-9]+)</td><td>[^<]*</td><td>(?:<a href=\"[^\"]*\">)?([^<]*)(?:</a>)?</td>"
      "<td>(?:<a href=\"[^\"]*\">)?([^<]*)(?:</a>)?</td><td>([^<]*)</td><td>[^<]*</td>"
      "<td>([^<]*)</td>");
  std::vector<ShownRow> out;
  for (std::sregex_iterator it(page.begin(), page.end(), row), end; it != end; ++it)
    out.push_back({std::stoll((*it)[1].str()), (*it)[2].str(), (*it)[3].str(), (*it)[4].str(),
                   (*it)[5].str()});
  return out;
}

std::vector<int64_t> Seqs(const std::vector<ShownRow>& rows) {
  std::vector<int64_t> out;
  for (const ShownRow& r : rows) out.push_back(r.seq);
  return out;
}

std::vector<int64_t> ApiSeqs(const Reply& r) {
  std::vector<int64_t> out;
  const nlohmann::json& j = r.json();
  for (const auto& e : j["entries"]) out.push_back(e["seq"].get<int64_t>());
  return out;
}

// The href of the "Older rows" link, unescaped ("" when there is none).
std::string OlderLink(const std::string& page) {
  std::smatch m;
  if (!std::regex_search(page, m, std::regex("<a href=\"([^\"]*)\">Older rows</a>"))) return "";
  std::string href = m[1].str();
  for (size_t at; (at = href.find("&amp;")) != std::string::npos;) href.replace(at, 5, "&");
  return href;
}

std::string Day(int offset_days) {
  return TimeFromNow(std::chrono::hours(24 * offset_days)).substr(0, 10);
}

class WebAuditTest : public ContractTest {
 protected:
  void SetUp() override {
    owner_ = NewUser("auditowner");
    outsider_ = NewUser("auditoutsider");
    outsider_handle_ = HandleOf(outsider_);
    repo_ = NewRepo(owner_);
    other_repo_ = NewRepo(NewUser("otherowner"));
    // The outsider is refused (audited as refused: not_found) in both repos.
    for (const std::string& r : {repo_, other_repo_})
      ASSERT_EQ(As(outsider_).Get("/v1/repos/" + r + "/audit").status, 404);
    ASSERT_EQ(As(outsider_).Get("/v1/whoami").status, 200);
  }
  WebBrowser SignedIn(const std::string& token) {
    WebBrowser b(server().port());
    EXPECT_EQ(b.SignIn(token).status, 303);
    return b;
  }

  std::string owner_, outsider_, outsider_handle_, repo_, other_repo_;
};

TEST_F(WebAuditTest, FiltersNarrowTheLogAsTheApiDoes) {
  WebBrowser admin = SignedIn(server().admin_token());
  Api api = Admin();
  const std::string who = "actor=" + outsider_handle_;
  for (const std::string& query :
       {who, who + "&outcome=refused", who + "&outcome=ok", who + "&action=audit.read",
        who + "&repo=" + repo_, who + "&repo=" + repo_ + "&action=audit.read&outcome=refused",
        who + "&since=" + Day(-1) + "&until=" + Day(1), who + "&since=" + Day(1),
        who + "&until=" + Day(-2), who + "&since=2000-01-01T00:00:00Z"}) {
    Reply page = admin.Get("/audit?" + query);
    ASSERT_EQ(page.status, 200) << query << "\n" << page.body;
    std::vector<ShownRow> rows = ShownRows(page.body);
    Reply listed = api.Get("/v1/audit?limit=100&" + query);
    ASSERT_EQ(listed.status, 200) << query << "\n" << listed.body;
    EXPECT_EQ(Seqs(rows), ApiSeqs(listed)) << query;
    for (const ShownRow& r : rows) {
      EXPECT_EQ(r.actor, outsider_handle_) << query;
      auto has = [&](const char* part) { return query.find(part) != std::string::npos; };
      if (has("outcome=refused")) {
        EXPECT_EQ(r.outcome.rfind("refused: ", 0), 0u) << query;
      }
      if (has("outcome=ok")) {
        EXPECT_EQ(r.outcome, "ok") << query;
      }
      if (has("repo=")) {
        EXPECT_EQ(r.repo, repo_) << query;
      }
      if (has("action=")) {
        EXPECT_EQ(r.action, "audit.read") << query;
      }
    }
  }
  // What each filter keeps, by count: two refusals (one per repo), one in
  // this repo; a range around today holds them, one after or before it none.
  EXPECT_EQ(ShownRows(admin.Get("/audit?" + who + "&outcome=refused").body).size(), 2u);
  EXPECT_EQ(ShownRows(admin.Get("/audit?" + who + "&repo=" + repo_).body).size(), 1u);
  EXPECT_GE(ShownRows(admin.Get("/audit?" + who + "&since=" + Day(-1)).body).size(), 2u);
  Reply none = admin.Get("/audit?" + who + "&since=" + Day(1));
  EXPECT_TRUE(ShownRows(none.body).empty());
  EXPECT_NE(none.body.find("No rows match"), std::string::npos);
  EXPECT_TRUE(ShownRows(admin.Get("/audit?" + who + "&until=" + Day(-2)).body).empty());
  // Empty fields (a form sent as is) filter nothing.
  EXPECT_EQ(admin.Get("/audit?actor=&action=&repo=&outcome=&since=&until=").status, 200);
}

TEST_F(WebAuditTest, BadFilterValuesAre400AndEveryValueIsEchoedEscaped) {
  WebBrowser admin = SignedIn(server().admin_token());
  for (const char* bad : {"since=yesterday", "until=2026-02-30", "since=2026-11-30T24:00:00Z",
                          "outcome=maybe", "since=%3Cscript%3E"}) {
    Reply r = admin.Get(std::string("/audit?") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.body.find("<script"), std::string::npos) << bad;
    EXPECT_EQ(Admin().Get(std::string("/v1/audit?") + bad).status, 400) << bad;
  }
  Reply echoed = admin.Get("/audit?actor=%22%3E%3Cscript%3Ex%3C%2Fscript%3E&action=a%26b");
  ASSERT_EQ(echoed.status, 200);
  EXPECT_EQ(echoed.body.find("<script"), std::string::npos);
  EXPECT_NE(echoed.body.find("name=\"actor\" size=\"16\" placeholder=\"handle\" "
                             "value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""),
            std::string::npos)
      << echoed.body;
  EXPECT_NE(echoed.body.find("value=\"a&amp;b\""), std::string::npos);
}

TEST_F(WebAuditTest, PagingLinksKeepTheFiltersPercentEncoded) {
  // 105 more refusals of the outsider: two pages of 100.
  for (int i = 0; i < 105; i++)
    ASSERT_EQ(As(outsider_).Get("/v1/repos/" + repo_ + "/audit").status, 404);
  WebBrowser admin = SignedIn(server().admin_token());
  const std::string filters =
      "actor=" + outsider_handle_ + "&outcome=refused&since=2000-01-01T00%3A00%3A00Z";
  Reply first = admin.Get("/audit?" + filters);
  ASSERT_EQ(first.status, 200);
  std::vector<ShownRow> one = ShownRows(first.body);
  ASSERT_EQ(one.size(), 100u);
  std::string older = OlderLink(first.body);
  ASSERT_FALSE(older.empty());
  for (const std::string& want :
       {"actor=" + outsider_handle_, std::string("outcome=refused"),
        std::string("since=2000-01-01T00%3A00%3A00Z"), "before=" + std::to_string(one.back().seq)})
    EXPECT_NE(older.find(want), std::string::npos) << want << " in " << older;
  Reply second = admin.Get(older);
  ASSERT_EQ(second.status, 200);
  std::vector<ShownRow> two = ShownRows(second.body);
  EXPECT_EQ(two.size(), 7u);  // 105 + the two of SetUp
  for (const ShownRow& r : two) {
    EXPECT_EQ(r.actor, outsider_handle_);
    EXPECT_LT(r.seq, one.back().seq);
  }
  EXPECT_EQ(OlderLink(second.body), "");
  // A repo's page keeps its own filters (no repo field: the path names it).
  WebBrowser owner = SignedIn(owner_);
  Reply repo_first = owner.Get("/r/" + repo_ + "/audit?" + filters);
  ASSERT_EQ(repo_first.status, 200);
  std::string repo_older = OlderLink(repo_first.body);
  EXPECT_EQ(repo_older.rfind("/r/" + repo_ + "/audit?actor=", 0), 0u) << repo_older;
  EXPECT_EQ(repo_older.find("repo="), std::string::npos) << repo_older;
  EXPECT_EQ(ShownRows(owner.Get(repo_older).body).size(), 6u);  // 105 + 1 in this repo
}

TEST_F(WebAuditTest, ARepoAdminSeesOnlyThatReposRows) {
  WebBrowser owner = SignedIn(owner_);
  const std::string query = "?actor=" + outsider_handle_;
  Reply page = owner.Get("/r/" + repo_ + "/audit" + query);
  ASSERT_EQ(page.status, 200);
  std::vector<ShownRow> rows = ShownRows(page.body);
  ASSERT_EQ(rows.size(), 1u) << page.body;
  EXPECT_EQ(rows[0].repo, repo_);
  Reply listed = As(owner_).Get("/v1/repos/" + repo_ + "/audit" + query);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(Seqs(rows), ApiSeqs(listed));
  // A repo filter cannot widen a repo's page; the whole log stays the
  // server admins' (403, as GET /v1/audit answers), verifying too.
  EXPECT_EQ(ShownRows(owner.Get("/r/" + repo_ + "/audit?repo=" + other_repo_).body).size(),
            ShownRows(owner.Get("/r/" + repo_ + "/audit").body).size());
  for (const ShownRow& r : ShownRows(owner.Get("/r/" + repo_ + "/audit?repo=" + other_repo_).body))
    EXPECT_EQ(r.repo, repo_);
  EXPECT_EQ(owner.Get("/audit?repo=" + repo_).status, 403);
  EXPECT_EQ(As(owner_).Get("/v1/audit?repo=" + repo_).status, 403);
  EXPECT_EQ(owner.Get("/audit?verify=1").status, 403);
  // Another repo's page is the API's 404 for one the owner may not read.
  EXPECT_EQ(owner.Get("/r/" + other_repo_ + "/audit").status, 404);
}

TEST_F(WebAuditTest, TheChainIsVerifiedOnlyWhenAsked) {
  WebBrowser admin = SignedIn(server().admin_token());
  Reply plain = admin.Get("/audit");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body.find("Verified: "), std::string::npos);
  EXPECT_NE(plain.body.find("href=\"/audit?verify=1\""), std::string::npos);
  Reply verified = admin.Get("/audit?verify=1&actor=" + outsider_handle_);
  ASSERT_EQ(verified.status, 200);
  EXPECT_NE(verified.body.find("Verified: "), std::string::npos);
  // The verdict covers the whole chain; the table below it keeps the filter.
  for (const ShownRow& r : ShownRows(verified.body)) EXPECT_EQ(r.actor, outsider_handle_);
  EXPECT_EQ(OlderLink(verified.body).find("verify"), std::string::npos);
}

}  // namespace
}  // namespace converge::testing

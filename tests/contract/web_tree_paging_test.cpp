// Contract: a large directory in the web view is listed a page at a time
// (docs/server.md, "The web view": 500 entries a page, ?page=N, "previous"
// and "next" links), so a page never holds the whole directory.
#include <cstdio>

#include "fixtures.h"
#include "web_browser.h"

namespace converge::testing {
namespace {

constexpr int kEntries = 1200;

std::string EntryName(int i) {
  char name[16];
  std::snprintf(name, sizeof name, "f%04d", i);
  return name;
}

// How many of the entries a page links to.
int ListedEntries(const std::string& body) {
  int n = 0;
  for (int i = 0; i < kEntries; i++)
    n += body.find(">" + EntryName(i) + "</a>") != std::string::npos;
  return n;
}

class WebTreePagingTest : public ContractTest {
 protected:
  void SetUp() override {
    reader_ = NewUser("pagereader");
    std::string owner = NewUser("pageowner");
    repo_ = NewRepo(owner);
    Grant(repo_, HandleOf(reader_), "read");
    TestObject blob = Blob("same bytes in every file\n");
    std::vector<Entry> entries;
    for (int i = 0; i < kEntries; i++) entries.push_back(FileEntry(EntryName(i), blob));
    TestObject big = ManifestOf(entries);
    TestObject root = ManifestOf({DirEntry("big", big), FileEntry("small.txt", blob)});
    TestObject snap = SnapOf(root, "a large directory");
    Reply up = As(owner).PostBytes("/v1/repos/" + repo_ + "/objects/pack",
                                   PackOf({blob, big, root, snap}), kPackContentType);
    ASSERT_EQ(up.status, 200) << up.body;
    Reply p = As(owner).Post("/v1/repos/" + repo_ + "/publications", {{"snap", snap.hex()},
                                                                      {"scope", "main"},
                                                                      {"gate", "dev-intake"},
                                                                      {"lane", "default"},
                                                                      {"note", "big"},
                                                                      {"workspace_id", "ws"},
                                                                      {"client_version", "0"},
                                                                      {"host", "h"}});
    ASSERT_EQ(p.status, 201) << p.body;
    dir_ = "/r/" + repo_ + "/p/" + p.json()["id"].get<std::string>() + "/big";
  }
  std::string reader_, repo_, dir_;
};

TEST_F(WebTreePagingTest, ALargeDirectoryIsListedFiveHundredAPage) {
  WebBrowser b(server().port());
  ASSERT_EQ(b.SignIn(reader_).status, 303);
  Reply first = b.Get(dir_);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(ListedEntries(first.body), 500);
  EXPECT_NE(first.body.find(">" + EntryName(0) + "</a>"), std::string::npos);
  EXPECT_NE(first.body.find(">" + EntryName(499) + "</a>"), std::string::npos);
  EXPECT_NE(first.body.find("entries 1–500 of 1200"), std::string::npos);
  EXPECT_NE(first.body.find("<a href=\"" + dir_ + "?page=2\">next</a>"), std::string::npos)
      << first.body.substr(0, 3000);
  EXPECT_EQ(first.body.find(">previous</a>"), std::string::npos);

  Reply second = b.Get(dir_ + "?page=2");
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(ListedEntries(second.body), 500);
  EXPECT_NE(second.body.find(">" + EntryName(500) + "</a>"), std::string::npos);
  EXPECT_NE(second.body.find(">" + EntryName(999) + "</a>"), std::string::npos);
  EXPECT_NE(second.body.find("<a href=\"" + dir_ + "?page=1\">previous</a>"), std::string::npos);
  EXPECT_NE(second.body.find("<a href=\"" + dir_ + "?page=3\">next</a>"), std::string::npos);

  Reply last = b.Get(dir_ + "?page=3");
  ASSERT_EQ(last.status, 200);
  EXPECT_EQ(ListedEntries(last.body), 200);
  EXPECT_NE(last.body.find(">" + EntryName(1199) + "</a>"), std::string::npos);
  EXPECT_NE(last.body.find("entries 1001–1200 of 1200"), std::string::npos);
  EXPECT_EQ(last.body.find(">next</a>"), std::string::npos);

  EXPECT_EQ(b.Get(dir_ + "?page=4").status, 404);
  EXPECT_EQ(b.Get(dir_ + "?page=0").status, 400);
  EXPECT_EQ(b.Get(dir_ + "?page=two").status, 400);
  // A small directory has one page and no pager.
  Reply root = b.Get(dir_.substr(0, dir_.size() - 4));
  ASSERT_EQ(root.status, 200);
  EXPECT_NE(root.body.find("small.txt"), std::string::npos);
  EXPECT_EQ(root.body.find(">next</a>"), std::string::npos);
  // A file under the paged directory opens as before.
  EXPECT_EQ(b.Get(dir_ + "/" + EntryName(1100)).status, 200);
}

}  // namespace
}  // namespace converge::testing

// Contract: the configured size and count limits answer 413, before reading
// a body whose declared length is over, and leave nothing behind; a request
// head over max_header_bytes is 431, JSON nested too deep is 400.
#include "api/pack.h"
#include "fixtures.h"

namespace converge::testing {
namespace {

class LimitsTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.config = {{"max_object_bytes", 4096},
                      {"max_metadata_bytes", 1024},
                      {"max_json_bytes", 4096},
                      {"max_ids_per_request", 10},
                      {"max_header_bytes", 4096}};
    server_ = std::make_unique<ServerProcess>(options);
  }
  void SetUp() override {
    owner_ = NewUser("owner");
    repo_ = NewRepo(owner_);
  }
  std::string Base() { return "/v1/repos/" + repo_; }
  void ExpectNothingLeft() {
    EXPECT_TRUE(fs::is_empty(server().data_dir() / "tmp"));
    EXPECT_EQ(Anonymous().Get("/healthz").status, 200);
  }
  std::string owner_, repo_;
};

TEST_F(LimitsTest, ObjectsOverTheirLimitAre413) {
  TestObject fits = Blob(std::string(4096, 'f')), over = Blob(std::string(4097, 'o'));
  EXPECT_EQ(As(owner_).PutBytes(fits.Path(repo_), fits.bytes).status, 201);
  Reply r = As(owner_).PutBytes(over.Path(repo_), over.bytes);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.code(), "too_large");
  EXPECT_NE(r.message().find("4096"), std::string::npos) << r.body;

  std::vector<Entry> entries;
  for (int i = 0; i < 20; i++) entries.push_back(FileEntry("file-" + std::to_string(i), fits));
  TestObject big_manifest = ManifestOf(entries);
  ASSERT_GT(big_manifest.bytes.size(), 1024u);
  EXPECT_EQ(As(owner_).PutBytes(big_manifest.Path(repo_), big_manifest.bytes).status, 413);

  Reply pack = As(owner_).PostBytes(Base() + "/objects/pack", PackOf({over}), kPackContentType);
  EXPECT_EQ(pack.status, 413) << pack.body;
  Reply pack_meta =
      As(owner_).PostBytes(Base() + "/objects/pack", PackOf({big_manifest}), kPackContentType);
  EXPECT_EQ(pack_meta.status, 413) << pack_meta.body;
  ExpectNothingLeft();
}

TEST_F(LimitsTest, ChunkedBodiesAreCountedAsTheyArrive) {
  TestObject over = Blob(std::string(6000, 'c'));
  httplib::Client cli("127.0.0.1", server().port());
  cli.set_bearer_token_auth(owner_.c_str());
  auto r = cli.Put(
      over.Path(repo_).c_str(),
      [&](size_t offset, httplib::DataSink& sink) {
        if (offset < over.bytes.size()) {
          sink.write(over.bytes.data() + offset,
                     std::min<size_t>(1000, over.bytes.size() - offset));
        } else {
          sink.done();
        }
        return true;
      },
      "application/octet-stream");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 413) << r->body;
  ExpectNothingLeft();
}

TEST_F(LimitsTest, DeclaredLengthOverTheLimitIsRefusedBeforeTheBody) {
  TestObject b = Blob("x");
  std::string head = "PUT " + b.Path(repo_) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     owner_ + "\r\nContent-Length: 10000000000\r\n";
  // No body follows: the answer comes from the headers alone.
  std::string plain = RawRequest(server().port(), head + "\r\n", /*shutdown_write=*/false);
  EXPECT_EQ(plain.rfind("HTTP/1.1 413", 0), 0u) << plain;
  EXPECT_NE(plain.find("too_large"), std::string::npos) << plain;
  EXPECT_NE(plain.find("Connection: close"), std::string::npos) << plain;
  // With "Expect: 100-continue" the client is told not to send the body at all.
  std::string expect = RawRequest(server().port(), head + "Expect: 100-continue\r\n\r\n", false);
  EXPECT_EQ(expect.rfind("HTTP/1.1 413", 0), 0u) << expect;
  EXPECT_EQ(expect.find("100 Continue"), std::string::npos) << expect;
  // A body within the limit is invited.
  std::string ok = RawRequest(
      server().port(),
      "PUT " + b.Path(repo_) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + owner_ +
          "\r\nContent-Length: 1\r\nConnection: close\r\nExpect: 100-continue\r\n\r\nx",
      /*shutdown_write=*/false);
  EXPECT_NE(ok.find("100 Continue"), std::string::npos) << ok;
  EXPECT_NE(ok.find("HTTP/1.1 201"), std::string::npos) << ok;
  ExpectNothingLeft();
}

TEST_F(LimitsTest, JsonBodiesAndIdCountsHaveLimits) {
  Reply big = As(owner_).Post("/v1/repos", {{"name", std::string(5000, 'n')}});
  EXPECT_EQ(big.status, 413) << big.body;
  nlohmann::json ids = nlohmann::json::array();
  for (int i = 0; i < 11; i++) ids.push_back(Blob("id " + std::to_string(i)).hex());
  Reply missing = As(owner_).Post(Base() + "/objects/missing", {{"blobs", ids}});
  EXPECT_EQ(missing.status, 413) << missing.body;
  EXPECT_NE(missing.message().find("10"), std::string::npos);
  EXPECT_EQ(As(owner_).Post(Base() + "/objects/fetch", {{"blobs", ids}}).status, 413);
  ids.erase(ids.begin());
  EXPECT_EQ(As(owner_).Post(Base() + "/objects/missing", {{"blobs", ids}}).status, 200);
  std::vector<TestObject> many;
  for (int i = 0; i < 11; i++) many.push_back(Blob("many " + std::to_string(i)));
  Reply pack = As(owner_).PostBytes(Base() + "/objects/pack", PackOf(many), kPackContentType);
  EXPECT_EQ(pack.status, 413) << pack.body;
  ExpectNothingLeft();
}

TEST_F(LimitsTest, TheMostObjectsAPackMayHoldIsAnnounced) {
  Reply r = As(owner_).Post(Base() + "/objects/missing", {{"blobs", {Blob("x").hex()}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header(kPackObjectsHeader), "10") << "max_ids_per_request, for publish's packs";
}

TEST_F(LimitsTest, HeadersOverTheirLimitAre431) {
  std::string head = "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + owner_ +
                     "\r\nConnection: close\r\n";
  // Within the limit: answered as usual.
  std::string ok =
      RawRequest(server().port(), head + "X-Pad: " + std::string(3000, 'p') + "\r\n\r\n",
                 /*shutdown_write=*/false);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok.substr(0, 200);
  // Many short header lines, each within httplib's own line limit.
  std::string many = head;
  for (int i = 0; i < 200; i++)
    many += "X-Pad-" + std::to_string(i) + ": " + std::string(40, 'p') + "\r\n";
  std::string answer = RawRequest(server().port(), many + "\r\n", false);
  EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
  EXPECT_NE(answer.find("\"too_large\""), std::string::npos) << answer;
  EXPECT_NE(answer.find("4096"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  // One line longer than the whole limit, and a request line longer than it.
  std::string line =
      RawRequest(server().port(), head + "X-Big: " + std::string(6000, 'b') + "\r\n\r\n", false);
  EXPECT_EQ(line.rfind("HTTP/1.1 431", 0), 0u) << line.substr(0, 200);
  std::string uri = RawRequest(
      server().port(), "GET /v1/" + std::string(5000, 'u') + " HTTP/1.1\r\nHost: x\r\n\r\n", false);
  EXPECT_EQ(uri.rfind("HTTP/1.1 431", 0), 0u) << uri.substr(0, 200);
  ExpectNothingLeft();
}

TEST_F(LimitsTest, JsonNestedTooDeepIs400) {
  std::string deep = std::string(17, '[') + std::string(17, ']');
  Reply r = As(owner_).PostBytes("/v1/repos", "{\"name\": " + deep + "}", "application/json");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.code(), "invalid");
  EXPECT_NE(r.message().find("nested deeper than"), std::string::npos) << r.body;
  // Far deeper is refused the same way, without exhausting the server's stack.
  Reply far =
      As(owner_).PostBytes(Base() + "/objects/missing", std::string(4000, '['), "application/json");
  EXPECT_EQ(far.status, 400) << far.body;
  EXPECT_EQ(Admin().Post("/v1/repos", {{"name", Unique("repo")}}).status, 201);
  ExpectNothingLeft();
}

}  // namespace
}  // namespace converge::testing

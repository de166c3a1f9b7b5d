// Unit: net/http_server.h serves the routes it is handed and knows nothing
// of the authority: a server built here from a route of its own answers it,
// gives JSON errors by itself (no route, a body over the limit its caller
// gave for the route, announced with "Expect: 100-continue") and keeps its
// connection plumbing (a malformed head is 400 and closes).
#include <gtest/gtest.h>
#include <httplib.h>

#include <initializer_list>
#include <string>
#include <thread>

#include "net/http_io.h"
#include "net/http_server.h"
#include "support/server.h"

namespace converge {
namespace {

using testing::RawRequest;

class GenericHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.threads = 2;
    o.max_connections = 4;
    HttpRoutes routes;
    routes.add = [](httplib::Server& svr) {
      svr.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
        SendJson(res, 200, {{"hello", "world"}});
      });
      svr.Post("/small", [](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
        RequestBody body(req, reader, 8);
        Result<nlohmann::json> j = body.Json();
        if (!j.ok())
          SendError(res, j.status());
        else
          SendJson(res, 200, *j);
        body.Finish(res);
      });
    };
    routes.body_limit = [](const httplib::Request& req) -> uint64_t {
      return req.path == "/small" ? 8 : 1 << 20;
    };
    server_ = std::make_unique<HttpServer>(o, std::move(routes));
    ASSERT_TRUE(server_->Bind("127.0.0.1", 0).ok());
    ASSERT_FALSE(server_->tls());
    runner_ = std::thread([this] { (void)server_->Run(); });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (runner_.joinable()) runner_.join();
  }
  std::string Ask(const std::string& head_and_body) {
    return RawRequest(server_->port(), head_and_body, /*shutdown_write=*/false);
  }

  std::unique_ptr<HttpServer> server_;
  std::thread runner_;
};

// `got` is an answer with `status` that holds each of `parts`.
void ExpectAnswer(const std::string& got, const std::string& status,
                  std::initializer_list<const char*> parts) {
  EXPECT_EQ(got.rfind("HTTP/1.1 " + status, 0), 0u) << got;
  for (const char* part : parts)
    EXPECT_NE(got.find(part), std::string::npos) << part << "\n" << got;
}

TEST_F(GenericHttpServerTest, ServesTheRoutesItIsHanded) {
  ExpectAnswer(Ask("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), "200",
               {R"({"hello":"world"})", "Accept-Ranges: none"});
}

TEST_F(GenericHttpServerTest, AnUnknownRouteIsAJson404) {
  ExpectAnswer(
      Ask("DELETE /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
      "404", {R"("code":"not_found")", "no such route: DELETE /nope"});
}

TEST_F(GenericHttpServerTest, TheBodyLimitItIsHandedIsA413BeforeTheBody) {
  std::string got =
      Ask("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
  ExpectAnswer(got, "413", {"the limit for this request is 8", "Connection: close"});
  EXPECT_EQ(got.find("100 Continue"), std::string::npos) << got;
}

TEST_F(GenericHttpServerTest, AMalformedHeadIsA400AndCloses) {
  ExpectAnswer(
      Ask("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"),
      "400", {R"("code":"invalid")", "Connection: close"});
}

}  // namespace
}  // namespace converge

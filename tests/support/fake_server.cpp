#include "support/fake_server.h"

#include <gtest/gtest.h>

#include <chrono>

#include "base/json.h"
#include "api/pack.h"

namespace converge::testing {

namespace {

using json = nlohmann::json;

void Error(httplib::Response& res, int status, const std::string& code, const std::string& msg) {
  res.status = status;
  res.set_content(wire::ToJson(wire::ApiError{code, msg}).dump(), "application/json");
}

}  // namespace

std::string Frame(const std::vector<PackItem>& objects, bool with_end) {
  std::string out(kPackMagic);
  for (const PackItem& o : objects) out += PackObjectHeader(o.kind, o.id, o.bytes.size()) + o.bytes;
  if (with_end) out += kPackEnd;
  return out;
}

FakeServer::FakeServer() {
  Routes();
  // Else each answer's body waits for the client's delayed ACK (40 ms).
  server_.set_tcp_nodelay(true);
  port_ = server_.bind_to_any_port("127.0.0.1");
  EXPECT_GT(port_, 0) << "the fake server cannot bind a loopback port";
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // httplib's stop() does nothing before the server runs: a FakeServer
  // destroyed at once would otherwise wait forever for its thread.
  for (int i = 0; i < 10000 && !server_.is_running(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeServer::~FakeServer() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

ObjectId FakeServer::Put(ObjectKind kind, const std::string& bytes) {
  ObjectId id = ObjectId::Of(bytes);
  PutAs(kind, id, bytes);
  return id;
}

void FakeServer::PutAs(ObjectKind kind, const ObjectId& id, const std::string& bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  objects_[id] = Stored{kind, bytes};
}

wire::Publication FakeServer::MakePublication(const ObjectId& snap, const std::string& note) {
  wire::Publication p;
  p.repo = kRepo;
  p.snap = snap.hex();
  p.scope = "main";
  p.gate = "dev-intake";
  p.lane = "default";
  p.publisher = "mallory";
  p.publisher_id = 666;
  p.created_at = "2026-01-02T03:04:05.000000Z";
  p.workspace_id = "evil-workspace";
  p.client_version = "0.1.0";
  p.host = "evil.example";
  p.note = note;
  p.id = ObjectId::Of(wire::PublicationIdInput(p)).hex();
  return p;
}

void FakeServer::List(const wire::Publication& p) {
  std::lock_guard<std::mutex> lock(mu_);
  publications_.insert(publications_.begin(), p);  // newest first
}

wire::Publication FakeServer::Publish(const ObjectId& snap, const std::string& note) {
  wire::Publication p = MakePublication(snap, note);
  List(p);
  return p;
}

void FakeServer::SetPack(PackMaker maker) {
  std::lock_guard<std::mutex> lock(mu_);
  pack_maker_ = std::move(maker);
}

void FakeServer::CutConnectionAfter(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  cut_after_ = bytes;
}

void FakeServer::SetNextCursor(std::optional<std::string> cursor) {
  std::lock_guard<std::mutex> lock(mu_);
  next_cursor_ = std::move(cursor);
}

void FakeServer::AnswerEverythingWith(int status, const std::string& body) {
  std::lock_guard<std::mutex> lock(mu_);
  answer_ = {status, body};
}

void FakeServer::Override(const std::string& path, Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  overrides_[path] = std::move(handler);
}

int FakeServer::requests(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = request_counts_.find(path);
  return it == request_counts_.end() ? 0 : it->second;
}

void FakeServer::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  overrides_.clear();
  request_counts_.clear();
  objects_.clear();
  publications_.clear();
  pack_maker_ = nullptr;
  cut_after_.reset();
  answer_.reset();
  next_cursor_.reset();
}

void FakeServer::AdvertisePackVersions(std::optional<std::string> versions) {
  std::lock_guard<std::mutex> lock(mu_);
  pack_versions_ = std::move(versions);
}

std::vector<std::string> FakeServer::uploads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return uploads_;
}

int FakeServer::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

std::vector<FakeServer::Seen> FakeServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::string FakeServer::FramePack(const wire::ObjectIdSet& asked) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PackItem> items;
  for (ObjectKind kind :
       {ObjectKind::kSnap, ObjectKind::kManifest, ObjectKind::kChunkList, ObjectKind::kBlob})
    for (const ObjectId& id : asked.of(kind)) {
      auto it = objects_.find(id);
      if (it != objects_.end()) items.push_back({it->second.kind, id, it->second.bytes});
    }
  return Frame(items);
}

std::string FakeServer::PackFor(const wire::ObjectIdSet& asked) {
  PackMaker maker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fetches_++;
    maker = pack_maker_;
  }
  return maker ? maker(asked) : FramePack(asked);
}

void FakeServer::Routes() {
  std::string repo = std::string("/v1/repos/") + kRepo;
  server_.Get("/v1/whoami", [](const httplib::Request&, httplib::Response& res) {
    wire::Whoami me{wire::User{7, "bob", false, "2026-01-01T00:00:00Z"}, "0123456789abcdef"};
    res.set_content(wire::ToJson(me).dump(), "application/json");
  });
  server_.Get(repo + "/lanes", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("[]", "application/json");  // bob is in no lane: he reads them all
  });
  server_.Get(repo + "/publications", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    wire::PublicationPage page{publications_, next_cursor_};
    res.set_content(wire::ToJson(page).dump(), "application/json");
  });
  server_.Get(repo + R"(/publications/([0-9a-f]+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard<std::mutex> lock(mu_);
                for (const wire::Publication& p : publications_)
                  if (p.id.rfind(req.matches[1].str(), 0) == 0)
                    return res.set_content(wire::ToJson(p).dump(), "application/json");
                Error(res, 404, "not_found", "no such publication");
              });
  server_.Post(
      repo + "/objects/fetch", [this](const httplib::Request& req, httplib::Response& res) {
        wire::ObjectIdSet asked;
        Result<json> j = ParseJson(req.body);
        if (!j.ok() || !wire::FromJson(*j, asked).ok())
          return Error(res, 400, "invalid", "bad fetch request");
        auto body = std::make_shared<std::string>(PackFor(asked));
        std::optional<size_t> cut;
        {
          std::lock_guard<std::mutex> lock(mu_);
          cut = cut_after_;
        }
        if (!cut) return res.set_content(*body, kPackContentType);
        size_t stop = std::min(*cut, body->size());
        res.set_content_provider(body->size(), kPackContentType,
                                 [body, stop](size_t offset, size_t, httplib::DataSink& sink) {
                                   if (offset >= stop) return false;  // drop the connection
                                   return sink.write(body->data() + offset, stop - offset);
                                 });
      });
  server_.Post(repo + "/objects/missing",
               [this](const httplib::Request& req, httplib::Response& res) {
                 std::lock_guard<std::mutex> lock(mu_);
                 if (pack_versions_) res.set_header(kPackVersionsHeader, *pack_versions_);
                 res.set_content(req.body, "application/json");  // all of them
               });
  server_.Post(repo + "/objects/pack", [this](const httplib::Request& req, httplib::Response& res) {
    struct Count : PackParser::Handler {
      uint64_t n = 0;
      Status Begin(ObjectKind, const ObjectId&, uint64_t) override { return Status::Ok(); }
      Status BeginEncoded(const EncodedObject&) override { return Status::Ok(); }
      Status Data(std::string_view) override { return Status::Ok(); }
      Status End() override {
        n++;
        return Status::Ok();
      }
    } count;
    PackParser parser(count);
    Status st = parser.Feed(req.body);
    if (st.ok()) st = parser.Finish();
    if (!st.ok()) return Error(res, 400, "invalid", st.message());
    std::lock_guard<std::mutex> lock(mu_);
    uploads_.push_back(req.body);
    wire::PackResult r{count.n, count.n, req.body.size()};
    res.set_content(wire::ToJson(r).dump(), "application/json");
  });
  server_.Post(repo + "/publications", [](const httplib::Request& req, httplib::Response& res) {
    Result<json> j = ParseJson(req.body);
    std::optional<ObjectId> snap;
    if (j.ok() && j->is_object() && j->contains("snap") && (*j)["snap"].is_string())
      snap = ObjectId::FromHex((*j)["snap"].get<std::string>());
    if (!snap) return Error(res, 400, "invalid", "bad publication request");
    res.status = 201;
    res.set_content(wire::ToJson(MakePublication(*snap)).dump(), "application/json");
  });
  server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    Handler handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(Seen{req.method, req.path, req.get_header_value("Authorization")});
      request_counts_[req.path]++;
      auto it = overrides_.find(req.path);
      if (it != overrides_.end()) handler = it->second;
    }
    if (handler) {
      handler(req, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!answer_) return httplib::Server::HandlerResponse::Unhandled;
    res.status = answer_->first;
    res.set_content(answer_->second, "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  server_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty() && !res.content_provider_)  // not an answer streamed on purpose
      Error(res, res.status, "not_found", "the fake server has no such route");
  });
}

}  // namespace converge::testing

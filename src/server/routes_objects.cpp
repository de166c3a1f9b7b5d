#include "server/routes_objects.h"

#include "api/pack.h"
#include "net/http_log.h"
#include "server/http_io.h"

namespace converge {

using httplib::ContentReader;
using httplib::DataSink;
using httplib::Request;
using httplib::Response;

namespace {

// Sends pieces to the client, counting them for the access log.
ObjectSender::Sink ToClient(DataSink& sink) {
  return [&sink](std::string_view piece) -> Status {
    CurrentRequestLog().streamed += piece.size();
    if (!sink.write(piece.data(), piece.size())) return Unavailable("the client stopped reading");
    return Status::Ok();
  };
}

// Gathers a pack's pieces (an object header, a small object's bytes) into
// chunks of about 64 KiB before they go out: a chunk and a send() per piece
// were half of a million-object fetch's server time.
class PackToClient {
 public:
  explicit PackToClient(DataSink& sink) : send_(ToClient(sink)) { buf_.reserve(kChunk); }
  ObjectSender::Sink AsSink() {
    return [this](std::string_view piece) { return Add(piece); };
  }
  Status Flush() {
    Status st = buf_.empty() ? Status::Ok() : send_(buf_);
    buf_.clear();
    return st;
  }

 private:
  static constexpr size_t kChunk = 64 << 10;
  Status Add(std::string_view piece) {
    if (buf_.size() + piece.size() > kChunk) RETURN_IF_ERROR(Flush());
    if (piece.size() >= kChunk) return send_(piece);
    buf_.append(piece);
    return Status::Ok();
  }
  ObjectSender::Sink send_;
  std::string buf_;
};

// A stream that fails after its headers went out can only end the
// connection: the client sees a short body and rejects it.
bool Report(const Status& st, const std::string& what) {
  if (!st.ok() && st.code() != Code::kUnavailable)
    LogLine(LogLevel::kError, what + ": " + st.message());
  return st.ok();
}

ObjectKind KindOf(const std::string& name) {
  return KindFromName(name).value_or(ObjectKind::kBlob);
}

}  // namespace

void RegisterObjectRoutes(httplib::Server& svr, Authority& a) {
  const ServerConfig& config = a.config();
  ObjectIntake& objects = a.objects();
  ObjectSender& sender = a.sender();

  svr.Post(R"(/v1/repos/([^/]+)/objects/missing)",
           [&a, &objects, &config](const Request& req, Response& res, const ContentReader& r) {
             ServeBody(a, req, res, r, config.max_json_bytes,
                       [&](const Caller& c, RequestBody& body) -> Result<Reply> {
                         ASSIGN_OR_RETURN(wire::ObjectIdSet ids, Decode<wire::ObjectIdSet>(body));
                         // The pack versions an upload may use (docs/pack.md, "Versions"):
                         // the client asks this before every upload.
                         res.set_header(kPackVersionsHeader, kPackVersionsTaken);
                         res.set_header(kPackObjectsHeader,
                                        std::to_string(config.max_ids_per_request));
                         return Answer(200, objects.Missing(c, req.matches[1].str(), ids));
                       });
           });

  const char* one = R"(/v1/repos/([^/]+)/(blob|manifest|snap|chunklist)s/([^/]+))";
  svr.Put(one, [&a, &objects, &config](const Request& req, Response& res, const ContentReader& r) {
    ObjectKind kind = KindOf(req.matches[2].str());
    uint64_t limit =
        kind == ObjectKind::kBlob ? config.max_object_bytes : config.max_metadata_bytes;
    ServeBody(a, req, res, r, limit, [&](const Caller& c, RequestBody& body) -> Result<Reply> {
      ASSIGN_OR_RETURN(wire::StoredObject out, objects.Put(c, req.matches[1].str(), kind,
                                                           req.matches[3].str(), body.Stream()));
      return JsonReply(out.stored ? 201 : 200, wire::ToJson(out));
    });
  });

  svr.Get(one, [&a, &sender](const Request& req, Response& res) {
    Serve(a, req, res, [&](const Caller& c) -> Result<Reply> {
      ASSIGN_OR_RETURN(ObjectSender::Located o,
                       sender.Locate(c, req.matches[1].str(), KindOf(req.matches[2].str()),
                                      req.matches[3].str()));
      // Content-addressed bytes never change.
      res.set_header("ETag", "\"" + o.id.hex() + "\"");
      res.set_header("Cache-Control", "private, max-age=31536000, immutable");
      if (o.size == 0) {  // httplib stalls on a provider of zero bytes
        res.set_content("", "application/octet-stream");
        return StreamedReply();
      }
      const ObjectSender* store = &sender;
      res.set_content_provider(
          o.size, "application/octet-stream", [store, o](size_t offset, size_t, DataSink& sink) {
            if (offset != 0) return false;  // the first call sends everything
            return Report(store->Stream(o.id, ToClient(sink)), "sending object " + o.id.hex());
          });
      return StreamedReply();
    });
  });

  svr.Post(R"(/v1/repos/([^/]+)/objects/pack)",
           [&a, &objects](const Request& req, Response& res, const ContentReader& r) {
             // No total: each object is held to its limit, and the count to max_ids_per_request.
             ServeBody(a, req, res, r, UINT64_MAX, [&](const Caller& c, RequestBody& body) {
               return Answer(200, objects.PutPack(c, req.matches[1].str(), body.Stream()));
             });
           });

  svr.Post(R"(/v1/repos/([^/]+)/objects/fetch)",
           [&a, &sender, &config](const Request& req, Response& res, const ContentReader& r) {
             ServeBody(
                 a, req, res, r, config.max_json_bytes,
                 [&](const Caller& c, RequestBody& body) -> Result<Reply> {
                   ASSIGN_OR_RETURN(wire::ObjectIdSet ids, Decode<wire::ObjectIdSet>(body));
                   // How many objects the client's next fetch request may name:
                   // on a refusal too, so that a client that named more can split.
                   res.set_header(kPackObjectsHeader, std::to_string(config.max_ids_per_request));
                   ASSIGN_OR_RETURN(std::vector<ObjectSender::Located> plan,
                                    sender.PlanFetch(c, req.matches[1].str(), ids));
                   const ObjectSender* store = &sender;
                   // Version 2 only for a client that asks for it (docs/pack.md, "Versions").
                   int version = PackVersionAccepted(req.get_header_value("Accept"));
                   res.set_chunked_content_provider(
                       PackContentType(version),
                       [store, version, plan = std::move(plan)](size_t, DataSink& sink) {
                         PackToClient out(sink);
                         Status st = store->WritePack(plan, out.AsSink(), version);
                         if (st.ok()) st = out.Flush();
                         if (!Report(st, "sending a pack")) return false;
                         sink.done();
                         return true;
                       });
                   return StreamedReply();
                 });
           });
}

}  // namespace converge

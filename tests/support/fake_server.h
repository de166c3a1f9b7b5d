// Test support: an in-process HTTP server that speaks just enough of the
// converge API (docs/api.md: whoami, lanes, publications, objects/fetch) for
// `converge fetch` to run against it, serving whatever a test crafted:
// objects whose bytes do not match their IDs, objects of the wrong kind,
// altered publications, packs that are truncated or cut off mid-way.
// Any token is accepted. Configure it before running the client.
#pragma once

#include <httplib.h>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/wire.h"
#include "store/objects.h"

namespace converge::testing {

class FakeServer {
 public:
  static constexpr const char* kRepo = "web";

  FakeServer();  // listening on a free loopback port
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  std::string url() const;

  // Serves `bytes` as an object of `kind` under its true ID, and returns it.
  ObjectId Put(ObjectKind kind, const std::string& bytes);
  // Serves `bytes` as an object of `kind` under `id`, whatever they hash to.
  void PutAs(ObjectKind kind, const ObjectId& id, const std::string& bytes);

  // A publication of `snap` in kRepo with a valid content ID.
  static wire::Publication MakePublication(const ObjectId& snap, const std::string& note = "");
  // Lists `p` exactly as given (an altered one too).
  void List(const wire::Publication& p);
  // Lists a valid publication of `snap` and returns it.
  wire::Publication Publish(const ObjectId& snap, const std::string& note = "");

  // The whole body answering a fetch of `asked`. The default frames every
  // asked object it holds, with the kind it was stored as, in the order asked.
  using PackMaker = std::function<std::string(const wire::ObjectIdSet& asked)>;
  void SetPack(PackMaker maker);
  std::string FramePack(const wire::ObjectIdSet& asked) const;
  // Answers fetches with a Content-Length of the full pack but closes the
  // connection after its first `bytes` bytes.
  void CutConnectionAfter(size_t bytes);

  // Sends `cursor` as every publication page's "next" (none by default).
  void SetNextCursor(std::optional<std::string> cursor);
  // Answers every request with `status` and `body` (JSON or not, raw bytes).
  void AnswerEverythingWith(int status, const std::string& body);

  // Answers every request for `path` (the path alone, without the query)
  // with `handler`, ahead of the routes above; and counts those requests.
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  void Override(const std::string& path, Handler handler);
  int requests(const std::string& path) const;

  // Uploads (objects/missing says everything is missing; objects/pack keeps
  // the body and says every object was stored; publications answers a
  // publication of the snap asked for). Like a server from before pack
  // version 2, the missing answer names no pack versions, unless told to
  // (`versions`, e.g. "1, 2").
  void AdvertisePackVersions(std::optional<std::string> versions);
  std::vector<std::string> uploads() const;

  // Forgets every object, publication, override and request count (not
  // the list requests() returns).
  void Reset();
  // Fetch requests answered so far.
  int fetches() const;

  // Every request received so far, with its Authorization header ("" when
  // none): what a client sent this server.
  struct Seen {
    std::string method, path, authorization;
  };
  std::vector<Seen> requests() const;

 private:
  struct Stored {
    ObjectKind kind;
    std::string bytes;
  };
  void Routes();
  std::string PackFor(const wire::ObjectIdSet& asked);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<ObjectId, Stored> objects_;
  std::vector<wire::Publication> publications_;
  PackMaker pack_maker_;
  std::optional<size_t> cut_after_;
  std::optional<std::pair<int, std::string>> answer_;
  std::optional<std::string> next_cursor_;
  std::map<std::string, Handler> overrides_;
  std::map<std::string, int> request_counts_;
  int fetches_ = 0;
  std::vector<Seen> requests_;
  std::optional<std::string> pack_versions_;
  std::vector<std::string> uploads_;
};

// Frames `objects` (kind, ID as written, bytes) as a pack, "end" line and all.
struct PackItem {
  ObjectKind kind;
  ObjectId id;
  std::string bytes;
};
std::string Frame(const std::vector<PackItem>& objects, bool with_end = true);

}  // namespace converge::testing

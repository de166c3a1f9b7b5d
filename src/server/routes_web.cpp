#include "server/routes_web.h"

#include <charconv>

#include "base/random.h"
#include "base/text.h"
#include "server/http_io.h"
#include "server/web_audit.h"
#include "server/web_html.h"
#include "server/web_pages.h"
#include "server/web_tree.h"

namespace converge {

using httplib::ContentReader;
using httplib::DataSink;
using httplib::Request;
using httplib::Response;

namespace {

constexpr char kSessionCookie[] = "converge_session";
constexpr char kSignInCookie[] = "converge_signin";
constexpr uint64_t kFormLimit = 16 * 1024;

std::string CookieValue(const Request& req, std::string_view name) {
  std::string header = req.get_header_value("Cookie");
  std::string_view h = header;
  while (!h.empty()) {
    size_t end = h.find(';');
    std::string_view pair = h.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=')
      return std::string(pair.substr(name.size() + 1));
    if (end == std::string_view::npos) break;
    h.remove_prefix(end + 1);
  }
  return "";
}

// Secure when the client reached us over HTTPS: ours, or a trusted proxy's
// (ClientUsesHttps); a cookie being cleared keeps the attributes it was set with.
void SetCookie(Response& res, const std::string& name, const std::string& value,
               const std::string& path, int64_t max_age) {
  res.set_header("Set-Cookie",
                 name + "=" + value + "; Path=" + path + "; Max-Age=" + std::to_string(max_age) +
                     "; HttpOnly; SameSite=Strict" + (ClientUsesHttps() ? "; Secure" : ""));
}

// A request a browser says came from another site is refused before its
// form is looked at (SameSite=Strict cookies are the first defence).
bool CrossSite(const Request& req) {
  std::string site = req.get_header_value("Sec-Fetch-Site");
  return !site.empty() && site != "same-origin" && site != "none";
}

struct Visit {
  Caller caller;
  std::string cookie;
  WebViewer viewer;
};

// What a page handler answers: a page, or nothing when it answered itself.
struct WebAnswer {
  std::string title, body;
  bool streamed = false;
};
using PageFn = std::function<Result<WebAnswer>(const Visit&)>;

// The page for a failed call. Every 404 is the same page, whatever was
// missing or hidden.
void SendFailure(Response& res, const WebViewer& viewer, const Status& st) {
  switch (st.code()) {
    case Code::kNotFound:
      return SendPage(res, 404,
                      WebPage(viewer, "Not found",
                              StatusBody("Not found",
                                         "There is nothing here, or "
                                         "nothing you may see.")));
    case Code::kInvalid:
      return SendPage(res, 400,
                      WebPage(viewer, "Bad request", StatusBody("Bad request", st.message())));
    case Code::kPermission:
      return SendPage(res, 403, WebPage(viewer, "Refused", StatusBody("Refused", st.message())));
    case Code::kConflict:
      return SendPage(res, 409,
                      WebPage(viewer, "Ambiguous", StatusBody("Ambiguous", st.message())));
    default:
      return SendPage(
          res, 500, WebPage(viewer, "Server error", StatusBody("The server failed", st.message())));
  }
}

// The session behind the request's cookie, or nullopt after answering with
// a redirect to the sign-in page (clearing a cookie that no longer works).
std::optional<Visit> Enter(Authority& a, const Request& req, Response& res) {
  SetWebHeaders(res);
  std::string cookie = CookieValue(req, kSessionCookie);
  Result<Caller> caller = cookie.empty() ? Result<Caller>(Unauthenticated("no session"))
                                         : a.web_sessions().Resolve(cookie, ClientAddress(req));
  if (!caller.ok()) {
    if (!cookie.empty()) SetCookie(res, kSessionCookie, "", "/", 0);
    SendRedirect(res, "/signin");
    return std::nullopt;
  }
  CurrentRequestLog().user = caller->handle;
  std::string csrf = WebSessions::CsrfFor(cookie);
  return Visit{*caller, cookie, WebViewer{caller->handle, csrf, caller->admin}};
}

void ServePage(Authority& a, const Request& req, Response& res, const PageFn& fn) {
  std::optional<Visit> v = Enter(a, req, res);
  if (!v) return;
  Result<WebAnswer> page = fn(*v);
  if (!page.ok()) {
    if (page.status().code() == Code::kUnauthenticated) return SendRedirect(res, "/signin");
    return SendFailure(res, v->viewer, page.status());
  }
  if (!page->streamed) SendPage(res, 200, WebPage(v->viewer, page->title, page->body));
}

// A form body (application/x-www-form-urlencoded, at most kFormLimit bytes).
Result<httplib::Params> ReadForm(const Request& req, RequestBody& body) {
  if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) != 0)
    return Invalid("expected a form (application/x-www-form-urlencoded)");
  std::string text;
  RETURN_IF_ERROR(body.Stream()([&](std::string_view piece) {
    text.append(piece);
    return Status::Ok();
  }));
  httplib::Params params;
  httplib::detail::parse_query_text(text, params);
  return params;
}

std::string FormValue(const httplib::Params& p, const char* name) {
  auto it = p.find(name);
  return it == p.end() ? "" : it->second;
}

void SendSignIn(Response& res, int status, const std::string& error) {
  std::string csrf = RandomHex(32);
  SetCookie(res, kSignInCookie, csrf, "/signin", 3600);
  SendPage(res, status, WebPage(WebViewer{}, "Sign in", SignInBody(csrf, error)));
}

// A sign-in form refused before its token was looked at: audited (bounded
// as failed tokens are) and answered 403, or 429 while the address is blocked.
void RefuseSignIn(Authority& a, const Request& req, Response& res, const std::string& why,
                  const std::string& message) {
  int64_t retry_after = 0;
  Status st = a.web_sessions().RefuseSignIn(ClientAddress(req), why, &retry_after);
  if (retry_after > 0) {
    res.set_header("Retry-After", std::to_string(retry_after));
    return SendSignIn(res, 429, st.message());
  }
  SendSignIn(res, 403, message);
}

void SignInPost(Authority& a, const Request& req, Response& res, RequestBody& body) {
  SetWebHeaders(res);
  if (CrossSite(req))
    return RefuseSignIn(a, req, res, "the browser says it came from another site (CSRF)",
                        "Sign-in from another site refused.");
  Result<httplib::Params> form = ReadForm(req, body);
  if (!form.ok()) return SendSignIn(res, 400, form.status().message());
  if (!SameSecret(FormValue(*form, "csrf"), CookieValue(req, kSignInCookie)))
    return RefuseSignIn(a, req, res,
                        "its CSRF value does not match its cookie (an expired form, or another "
                        "site's)",
                        "The sign-in form expired or came from another site: sign in again.");
  int64_t retry_after = 0;
  Result<WebSignIn> s =
      a.web_sessions().SignIn(FormValue(*form, "token"), ClientAddress(req), &retry_after);
  if (!s.ok()) {
    if (retry_after > 0) res.set_header("Retry-After", std::to_string(retry_after));
    return SendSignIn(res, retry_after > 0 ? 429 : 401, s.status().message());
  }
  CurrentRequestLog().user = s->caller.handle;
  SetCookie(res, kSignInCookie, "", "/signin", 0);
  // The cookie lives as long as the session: no longer than its token.
  SetCookie(res, kSessionCookie, s->cookie_id, "/", s->max_age);
  SendRedirect(res, "/");
}

void SignOutPost(Authority& a, const Request& req, Response& res, RequestBody& body) {
  std::optional<Visit> v = Enter(a, req, res);
  if (!v) return;
  Result<httplib::Params> form = ReadForm(req, body);
  std::string why = CrossSite(req) ? "the browser says it came from another site (CSRF)"
                    : !form.ok()   ? "it is not a form"
                    : !SameSecret(FormValue(*form, "csrf"), v->viewer.csrf)
                        ? "its CSRF value is not the session's"
                        : "";
  if (!why.empty()) {
    (void)a.web_sessions().RefuseSignOut(v->caller, why);
    return SendPage(res, 403,
                    WebPage(v->viewer, "Refused",
                            StatusBody("Refused",
                                       "The sign-out form expired or came "
                                       "from another site: try again.")));
  }
  Status st = a.web_sessions().SignOut(v->caller, v->cookie);
  if (!st.ok()) return SendFailure(res, v->viewer, st);
  SetCookie(res, kSessionCookie, "", "/", 0);
  SendRedirect(res, "/signin");
}

std::optional<std::string> NonEmptyParam(const Request& req, const char* name) {
  std::optional<std::string> v = Param(req, name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

Result<WebAnswer> RepoPage(Authority& a, const Caller& c, const Request& req) {
  std::string repo = req.matches[1].str();
  ASSIGN_OR_RETURN(wire::RepoDetails d, a.registry().GetRepo(c, repo));
  PublicationQuery q;
  q.scope = NonEmptyParam(req, "scope");
  q.lane = NonEmptyParam(req, "lane");
  q.gate = NonEmptyParam(req, "gate");
  q.limit = 50;
  ASSIGN_OR_RETURN(q.before, BeforeParam(req));
  ASSIGN_OR_RETURN(wire::PublicationPage page, a.publications().List(c, repo, q));
  return WebAnswer{d.repo.name, RepoBody(d, page, q)};
}

// /audit (the whole log) or /r/REPO/audit (`of_repo`), with the filters of
// the query string (the API's: AuditFilterParams).
Result<WebAnswer> AuditLogPage(Authority& a, const Caller& c, const Request& req, bool of_repo) {
  WebAuditQuery q;
  if (of_repo) q.repo = req.matches[1].str();
  q.filter = AuditFilterParams(req);
  q.verify = !of_repo && Param(req, "verify") == "1";
  ASSIGN_OR_RETURN(q.before, BeforeParam(req));
  ASSIGN_OR_RETURN(std::string body, AuditPageBody(a, c, q));
  return WebAnswer{"Audit log", body};
}

// The text of a file to show on its page, or nullopt with the reason not.
Result<std::optional<std::string>> FileText(Authority& a, const Caller& c, const std::string& repo,
                                            const Entry& e, std::string* why) {
  if (e.type == EntryType::kSymlink) {
    *why = "A symbolic link to " + Quote(e.target) + ".";
    return std::optional<std::string>();
  }
  if (e.size > kWebTextCap) {
    *why = "Too large to show here (over " + std::to_string(kWebTextCap) + " bytes): download it.";
    return std::optional<std::string>();
  }
  ASSIGN_OR_RETURN(std::vector<ObjectSender::Located> blobs, FileBlobs(a, c, repo, e));
  std::string text;
  RETURN_IF_ERROR(StreamBlobs(a.sender(), blobs, [&](std::string_view piece) {
    text.append(piece);
    return Status::Ok();
  }));
  if (!IsValidUtf8(text) || text.find('\0') != std::string::npos) {
    *why = "A binary file: download it.";
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(text));
}

// ?page=N of a directory (from 1): kInvalid for anything but a whole number
// of at least 1; kNotFound past its last page.
Result<size_t> DirPage(const Request& req, const WebTreeNode& node) {
  std::optional<std::string> v = NonEmptyParam(req, "page");
  if (!v) return size_t{1};
  size_t page = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), page);
  if (ec != std::errc() || end != v->data() + v->size() || page < 1)
    return Invalid("page must be a whole number from 1");
  size_t pages =
      std::max<size_t>(1, (node.dir.entries.size() + kWebDirPageEntries - 1) / kWebDirPageEntries);
  if (page > pages) return NotFound("the directory has " + std::to_string(pages) + " page(s)");
  return page;
}

Result<WebAnswer> PublicationView(Authority& a, const Caller& c, const Request& req) {
  std::string repo = req.matches[1].str();
  ASSIGN_OR_RETURN(WebTreeNode node,
                   OpenPublicationPath(a, c, repo, req.matches[2].str(), req.matches[3].str()));
  std::optional<std::string> text;
  std::string why;
  size_t page = 1;
  if (node.is_dir) {
    ASSIGN_OR_RETURN(page, DirPage(req, node));
  } else {
    ASSIGN_OR_RETURN(text, FileText(a, c, repo, node.file, &why));
  }
  std::string title =
      node.path.empty() ? "publication " + node.publication.id.substr(0, 12) : node.path.back();
  return WebAnswer{title, PublicationBody(repo, node, text, why, page)};
}

// An ASCII stand-in for a file name in Content-Disposition's filename=.
std::string AsciiName(const std::string& name) {
  std::string out;
  for (char c : name)
    out += (isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  return out;
}

Result<WebAnswer> Download(Authority& a, const Caller& c, const Request& req, Response& res) {
  std::string repo = req.matches[1].str();
  ASSIGN_OR_RETURN(WebTreeNode node,
                   OpenPublicationPath(a, c, repo, req.matches[2].str(), req.matches[3].str()));
  if (node.is_dir || node.file.type != EntryType::kFile) return NotFound("not a file");
  ASSIGN_OR_RETURN(std::vector<ObjectSender::Located> blobs, FileBlobs(a, c, repo, node.file));
  // A 200 cannot be taken back once sent: a file up to kWebVerifyFirst is
  // re-hashed first, so that a damaged one is the 500 page; a larger one is
  // verified as it streams and cut short at a damaged piece.
  if (node.file.size <= kWebVerifyFirst)
    for (const ObjectSender::Located& b : blobs) RETURN_IF_ERROR(a.sender().Verify(b));
  const std::string& name = node.path.back();
  res.set_header("Content-Disposition", "attachment; filename=\"" + AsciiName(name) +
                                            "\"; filename*=UTF-8''" + PercentEncode(name));
  if (node.file.size == 0) {  // httplib stalls on a provider of zero bytes
    res.set_content("", "application/octet-stream");
    return WebAnswer{"", "", true};
  }
  const ObjectSender* sender = &a.sender();
  res.set_content_provider(node.file.size, "application/octet-stream",
                           [sender, blobs](size_t offset, size_t, DataSink& sink) {
                             if (offset != 0) return false;  // the first call sends everything
                             return StreamBlobs(
                                        *sender, blobs,
                                        [&](std::string_view piece) {
                                          if (!sink.write(piece.data(), piece.size()))
                                            return Unavailable("the client stopped reading");
                                          return Status::Ok();
                                        })
                                 .ok();
                           });
  return WebAnswer{"", "", true};
}

}  // namespace

void RegisterWebRoutes(httplib::Server& svr, Authority& a) {
  svr.Get("/style.css", [](const Request&, Response& res) {
    SetWebHeaders(res);
    res.set_header("Cache-Control", "public, max-age=3600");
    res.set_content(kWebStylesheet, "text/css; charset=utf-8");
  });
  svr.Get("/signin", [&a](const Request& req, Response& res) {
    SetWebHeaders(res);
    std::string cookie = CookieValue(req, kSessionCookie);
    if (!cookie.empty()) {
      if (a.web_sessions().Resolve(cookie, ClientAddress(req)).ok()) return SendRedirect(res, "/");
      SetCookie(res, kSessionCookie, "", "/", 0);  // asked about once, not at every visit
    }
    SendSignIn(res, 200, "");
  });
  svr.Post("/signin", [&a](const Request& req, Response& res, const ContentReader& r) {
    RequestBody body(req, r, kFormLimit);
    SignInPost(a, req, res, body);
    body.Finish(res);
  });
  svr.Post("/signout", [&a](const Request& req, Response& res, const ContentReader& r) {
    RequestBody body(req, r, kFormLimit);
    SignOutPost(a, req, res, body);
    body.Finish(res);
  });
  svr.Get("/", [&a](const Request& req, Response& res) {
    ServePage(a, req, res, [&](const Visit& v) -> Result<WebAnswer> {
      ASSIGN_OR_RETURN(std::vector<wire::Repo> repos, a.registry().ListRepos(v.caller));
      return WebAnswer{"Repos", RepoListBody(repos)};
    });
  });
  svr.Get(R"(/r/([^/]+))", [&a](const Request& req, Response& res) {
    ServePage(a, req, res, [&](const Visit& v) { return RepoPage(a, v.caller, req); });
  });
  svr.Get(R"(/audit)", [&a](const Request& req, Response& res) {
    ServePage(a, req, res, [&](const Visit& v) { return AuditLogPage(a, v.caller, req, false); });
  });
  svr.Get(R"(/r/([^/]+)/audit)", [&a](const Request& req, Response& res) {
    ServePage(a, req, res, [&](const Visit& v) { return AuditLogPage(a, v.caller, req, true); });
  });
  svr.Get(R"(/r/([^/]+)/p/([^/]+)(?:/(.*))?)", [&a](const Request& req, Response& res) {
    ServePage(a, req, res, [&](const Visit& v) { return PublicationView(a, v.caller, req); });
  });
  svr.Get(R"(/r/([^/]+)/raw/([^/]+)/(.+))", [&a](const Request& req, Response& res) {
    ServePage(a, req, res, [&](const Visit& v) { return Download(a, v.caller, req, res); });
  });
}

}  // namespace converge

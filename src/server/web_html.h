// The web view's page frame (docs/server.md, "The web view"): the layout
// every page shares, its stylesheet (compiled in, served at /style.css), the
// security headers every answer of the view carries, and URL pieces. Every
// string a page shows goes through HtmlEscape (base/text.h); every path
// segment or query value in a link through PercentEncode (base/text.h).
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>

namespace converge {

// The stylesheet, and the Content-Security-Policy that allows only it:
// no script, no frames, forms only to this server.
extern const char kWebStylesheet[];
extern const char kWebContentSecurityPolicy[];

// Who is looking, for the frame's header: the handle and the sign-out form's
// CSRF value; an empty handle for a page before sign-in.
struct WebViewer {
  std::string handle;
  std::string csrf;
  bool admin = false;  // a server admin: the header links the audit log
};

// A whole HTML document: `title` (escaped here) and `body` (already HTML).
std::string WebPage(const WebViewer& viewer, std::string_view title, std::string_view body);

// Sets the headers every answer of the view carries: the CSP, nosniff, no
// framing, no referrer, no caching.
void SetWebHeaders(httplib::Response& res);

// An HTML answer with `status`.
void SendPage(httplib::Response& res, int status, const std::string& html);

// A 303 to `location` (a path of this server).
void SendRedirect(httplib::Response& res, const std::string& location);

}  // namespace converge

#include "server/web_html.h"

#include "base/text.h"

namespace converge {

const char kWebContentSecurityPolicy[] =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

// Small and plain: readable at phone width (one column; a table too wide
// scrolls by itself, and cells wrap only words longer than the line, so
// columns are never squeezed to a letter a line: overflow-wrap, not
// word-break). tests/browser/ checks no page is wider than a 375 px screen.
const char kWebStylesheet[] = R"css(
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;background:#fff}
header{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center;padding:.6em 1em;background:#24292f;color:#fff}
header a{color:#fff;font-weight:600;text-decoration:none}
header .who{margin-left:auto}
header form{display:inline}
main{max-width:70em;margin:0 auto;padding:1em}
h1{font-size:1.4em;word-break:break-word}
h2{font-size:1.1em;margin-top:1.5em;border-bottom:1px solid #d0d7de}
a{color:#0969da}
table{border-collapse:collapse;width:100%;display:block;overflow-x:auto}
th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #d0d7de;vertical-align:top;overflow-wrap:break-word}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}
dt{font-weight:600}dd{margin:0;word-break:break-word}
.muted{color:#656d76}
.error{border-left:4px solid #cf222e;padding:.4em .8em;background:#ffebe9}
form.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:end}
input,button,select{font:inherit;padding:.3em .5em;max-width:100%}
label{display:block}
code{font-family:ui-monospace,monospace}
svg.gates{max-width:100%;height:auto;display:block;margin:.5em 0}
)css";

std::string WebPage(const WebViewer& viewer, std::string_view title, std::string_view body) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<link rel=\"stylesheet\" href=\"/style.css\"><title>" +
      HtmlEscape(title) + " · converge</title></head><body><header><a href=\"/\">converge</a>";
  if (!viewer.handle.empty()) {
    if (viewer.admin) out += "<a href=\"/audit\">Audit log</a>";
    out += "<span class=\"who\">" + HtmlEscape(viewer.handle) +
           "</span><form method=\"post\" action=\"/signout\"><input type=\"hidden\" "
           "name=\"csrf\" value=\"" +
           HtmlEscape(viewer.csrf) + "\"><button type=\"submit\">Sign out</button></form>";
  }
  out += "</header><main>";
  out += body;
  out += "</main></body></html>\n";
  return out;
}

void SetWebHeaders(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kWebContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

void SendPage(httplib::Response& res, int status, const std::string& html) {
  res.status = status;
  res.set_content(html, "text/html; charset=utf-8");
}

void SendRedirect(httplib::Response& res, const std::string& location) {
  res.status = 303;
  res.set_header("Location", location);
  res.set_content("", "text/plain");
}

}  // namespace converge

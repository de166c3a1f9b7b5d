// A browser without JavaScript for the web view's contract tests: it keeps
// cookies (as a browser would, by name), sends forms and reads their CSRF
// fields.
#pragma once

#include <httplib.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "support/server.h"

namespace converge::testing {

// A browser without JavaScript: keeps cookies, sends forms.
class WebBrowser {
 public:
  explicit WebBrowser(int port) : cli_("127.0.0.1", port) {}

  Reply Get(const std::string& path) { return Keep(cli_.Get(path.c_str(), CookieHeader())); }
  Reply Post(const std::string& path, const httplib::Params& form,
             const httplib::Headers& extra = {}) {
    httplib::Headers h = CookieHeader();
    h.insert(extra.begin(), extra.end());
    return Keep(cli_.Post(path.c_str(), h, form));
  }
  // The CSRF field of the last page that had a form.
  std::string Csrf(const Reply& page) {
    std::smatch m;
    static const std::regex re("name=\"csrf\" value=\"([0-9a-f]+)\"");
    return std::regex_search(page.body, m, re) ? m[1].str() : "";
  }
  // Signs in with `token` through the form; returns the POST's answer.
  Reply SignIn(const std::string& token) {
    Reply form = Get("/signin");
    return Post("/signin", {{"token", token}, {"csrf", Csrf(form)}});
  }
  std::string cookie(const std::string& name) const {
    auto it = cookies_.find(name);
    return it == cookies_.end() ? "" : it->second;
  }
  void set_cookie(const std::string& name, const std::string& value) { cookies_[name] = value; }

 private:
  httplib::Headers CookieHeader() const {
    std::string c;
    for (const auto& [k, v] : cookies_) c += (c.empty() ? "" : "; ") + k + "=" + v;
    if (c.empty()) return {};
    return {{"Cookie", c}};
  }
  Reply Keep(httplib::Result r) {
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.body = r->body;
    out.headers = r->headers;
    auto range = r->headers.equal_range("Set-Cookie");
    for (auto it = range.first; it != range.second; ++it) {
      std::string v = it->second.substr(0, it->second.find(';'));
      size_t eq = v.find('=');
      std::string name = v.substr(0, eq), value = v.substr(eq + 1);
      if (value.empty())
        cookies_.erase(name);
      else
        cookies_[name] = value;
    }
    return out;
  }
  httplib::Client cli_;
  std::map<std::string, std::string> cookies_;
};

inline std::vector<std::string> SetCookies(const Reply& r) {
  std::vector<std::string> out;
  auto range = r.headers.equal_range("Set-Cookie");
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

}  // namespace converge::testing

#include "client/credentials.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/json.h"
#include "client/private_json.h"

namespace converge {

using json = nlohmann::json;

namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool HostChar(char c, bool bracketed) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-') return true;
  return bracketed ? c == ':' : c == '_';
}

Status BadServerUrl(std::string_view url) {
  return Invalid("server URL '" + std::string(url) +
                 "' must be http://HOST[:PORT] or https://HOST[:PORT], with no path");
}

Status NoScheme(std::string_view url) {
  return Invalid("server URL '" + std::string(url) + "' must start with http:// or https://");
}

}  // namespace

Result<std::string> CanonicalServerUrl(std::string_view url) {
  std::string s = LowerAscii(url.substr(0, std::min<size_t>(url.size(), 8)));
  std::string scheme = s.rfind("https://", 0) == 0  ? "https"
                       : s.rfind("http://", 0) == 0 ? "http"
                                                    : "";
  if (scheme.empty()) return NoScheme(url);
  std::string_view rest = url.substr(scheme.size() + 3);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  // HOST is a name or address, or an IPv6 address in brackets.
  bool bracketed = !rest.empty() && rest.front() == '[';
  size_t host_end = bracketed ? rest.find(']') : rest.find(':');
  if (bracketed && host_end == std::string_view::npos) return BadServerUrl(url);
  if (bracketed) host_end++;
  if (host_end == std::string_view::npos) host_end = rest.size();
  std::string host = LowerAscii(rest.substr(0, host_end));
  std::string_view inner = bracketed ? std::string_view(host).substr(1, host.size() - 2) : host;
  if (inner.empty()) return BadServerUrl(url);
  for (char c : inner)
    if (!HostChar(c, bracketed)) return BadServerUrl(url);
  std::string_view port = rest.substr(host_end);
  std::string out = scheme + "://" + host;
  if (port.empty()) return out;
  if (port.front() != ':' || port.size() < 2 || port.size() > 6) return BadServerUrl(url);
  unsigned n = 0;
  for (char c : port.substr(1)) {
    if (c < '0' || c > '9') return BadServerUrl(url);
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n == 0 || n > 65535) return BadServerUrl(url);
  if ((scheme == "http" && n == 80) || (scheme == "https" && n == 443)) return out;
  return out + ":" + std::to_string(n);
}

std::string NormalizeUrl(std::string url) {
  Result<std::string> canonical = CanonicalServerUrl(url);
  if (canonical.ok()) return *canonical;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

fs::path Credentials::Path() {
  return ClientConfigDir() / "credentials.json";
}

Result<Credentials> Credentials::Load() {
  Credentials c;
  fs::path path = Path();
  Result<std::optional<json>> j = ReadPrivateJson(path);
  if (!j.ok() && j.status().code() != Code::kCorrupt) return j.status();
  if (j.ok() && !*j) return c;
  if (!j.ok())
    return Corrupt("credentials file '" + path.string() +
                   "' is damaged: remove it and run 'converge login' again");
  // A hand-edited file may hold any JSON: take only strings, never throw.
  auto text_of = [](const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const json& root = **j;
  c.last_url_ = NormalizeUrl(text_of(root, "last_url"));
  if (root.contains("servers") && root["servers"].is_object()) {
    for (const auto& [url, v] : root["servers"].items()) {
      if (!v.is_object() || !v.contains("token") || !v["token"].is_string()) continue;
      c.servers_[NormalizeUrl(url)] =
          StoredLogin{v["token"].get<std::string>(), text_of(v, "user"), text_of(v, "saved_at")};
    }
  }
  return c;
}

Status Credentials::Save() const {
  json servers = json::object();
  for (const auto& [url, l] : servers_)
    servers[url] = {{"token", l.token}, {"user", l.user}, {"saved_at", l.saved_at}};
  json j = {{"version", 1}, {"last_url", last_url_}, {"servers", servers}};
  return WritePrivateJson(Path(), j);
}

const StoredLogin* Credentials::Find(const std::string& url) const {
  auto it = servers_.find(NormalizeUrl(url));
  return it == servers_.end() ? nullptr : &it->second;
}

void Credentials::Set(const std::string& url, const StoredLogin& login) {
  servers_[NormalizeUrl(url)] = login;
  last_url_ = NormalizeUrl(url);
}

bool Credentials::Remove(const std::string& url) {
  bool had = servers_.erase(NormalizeUrl(url)) > 0;
  if (last_url_ == NormalizeUrl(url)) last_url_ = servers_.empty() ? "" : servers_.begin()->first;
  return had;
}

}  // namespace converge

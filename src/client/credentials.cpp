#include "client/credentials.h"

#include <sys/stat.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/json.h"

namespace converge {

using json = nlohmann::json;

std::string NormalizeUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

fs::path Credentials::Path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  fs::path base;
  if (xdg && *xdg) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = fs::path(home && *home ? home : "/") / ".config";
  }
  return base / "converge" / "credentials.json";
}

Result<Credentials> Credentials::Load() {
  Credentials c;
  fs::path path = Path();
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return c;
    return text.status();
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077)) ::chmod(path.c_str(), 0600);
  Result<json> j = ParseJson(*text);
  if (!j.ok() || !j->is_object())
    return Corrupt("credentials file '" + path.string() +
                   "' is damaged: remove it and run 'converge login' again");
  // A hand-edited file may hold any JSON: take only strings, never throw.
  auto text_of = [](const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  c.last_url_ = text_of(*j, "last_url");
  if (j->contains("servers") && (*j)["servers"].is_object()) {
    for (const auto& [url, v] : (*j)["servers"].items()) {
      if (!v.is_object() || !v.contains("token") || !v["token"].is_string()) continue;
      c.servers_[url] =
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
  fs::path path = Path();
  RETURN_IF_ERROR(MakeDirs(path.parent_path(), 0700));
  return WriteFileAtomic(path, j.dump(2) + "\n", 0600);
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

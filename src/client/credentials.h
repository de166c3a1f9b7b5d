// Stored logins: $XDG_CONFIG_HOME/converge/credentials.json (default
// ~/.config/converge/), keyed by server URL (NormalizeUrl), mode 0600 in a
// 0700 directory, never inside a workspace. Tokens are never printed. A stored
// token is only ever sent to the server it is stored for (client/session.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/fs.h"

namespace converge {

struct StoredLogin {
  std::string token;
  std::string user;  // handle, as the server said at login
  std::string saved_at;
};

class Credentials {
 public:
  static fs::path Path();
  // Loads the file (empty when there is none). Tightens its mode to 0600 if
  // someone widened it.
  static Result<Credentials> Load();
  Status Save() const;

  const StoredLogin* Find(const std::string& url) const;
  void Set(const std::string& url, const StoredLogin& login);
  bool Remove(const std::string& url);
  // The server of the most recent login.
  const std::string& last_url() const { return last_url_; }

 private:
  std::map<std::string, StoredLogin> servers_;
  std::string last_url_;
};

// The one spelling of a server URL, so one server has one key and a token is
// matched to the server it was stored for: scheme and host in lower case, the
// scheme's default port (80, 443) dropped, no trailing '/'. kInvalid unless
// `url` is http(s)://HOST[:PORT] with an optional trailing '/' (no path, query,
// fragment or user info: converge talks to a server's root).
Result<std::string> CanonicalServerUrl(std::string_view url);
// CanonicalServerUrl, or for text that is no server URL, the text without
// trailing slashes (a key that matches nothing but itself).
std::string NormalizeUrl(std::string url);

}  // namespace converge

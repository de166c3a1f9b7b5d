// Stored logins: $XDG_CONFIG_HOME/converge/credentials.json (default
// ~/.config/converge/), keyed by server URL, mode 0600 in a 0700 directory,
// never inside a workspace. Tokens are never printed.
#pragma once

#include <map>
#include <optional>
#include <string>

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

// Drops trailing slashes so one server has one key.
std::string NormalizeUrl(std::string url);

}  // namespace converge

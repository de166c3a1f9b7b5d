// `converge serve`: the server's settings from its flags and file, and its
// run from start-up to a clean stop on SIGINT or SIGTERM.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/config.h"

namespace converge {

// The flags of `converge serve`; empty or 0: not given.
struct ServeFlags {
  std::string listen;  // HOST:PORT
  std::string data_dir = "converge-data";
  std::string config;  // settings file; default DATA/server.json when present
  unsigned threads = 0;
  std::string log_level;  // debug, info, warn or error
  std::string tls_cert, tls_key;
  std::vector<std::string> trusted_proxies;  // --trusted-proxy, repeated: replaces the file's list
  bool no_web = false;  // --no-web: no web view
  std::string db;       // --db: "sqlite" or a PostgreSQL URL
};

// The settings, by precedence defaults < settings file < flags; the
// database also from CONVERGE_DB, between the file and --db. Errors:
// kInvalid for a bad --listen, --log-level or --trusted-proxy or a bad file
// (LoadConfigFile), kNotFound for a --config file that is not there.
Result<ServerConfig> BuildServerConfig(const ServeFlags& flags);

// Opens the data dir (Authority::Open), binds, says where it listens and what
// start-up found through `note` (one line each: the address, the first
// admin's token file, the audit and depth notes, the audit key's
// fingerprint), and serves until SIGINT or SIGTERM, then finishes the
// requests in flight and closes the data dir. Blocks the stop signals in
// the calling thread first (call it before any other thread starts),
// ignores SIGPIPE and sets the umask to 077. Errors: those of opening the
// data dir and binding; OK after a stop by signal.
Status RunServer(const ServerConfig& config, const std::function<void(const std::string&)>& note);

}  // namespace converge

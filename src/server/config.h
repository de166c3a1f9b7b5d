// Server settings: defaults, overlaid by a JSON config file (DATA/server.json
// or --config FILE), overlaid by command-line flags. docs/server.md lists them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/fs.h"
#include "net/client_address.h"

namespace converge {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  fs::path data_dir = "converge-data";
  // Where the metadata lives: "" or "sqlite" for DATA/converge.db, else a
  // libpq URL (postgresql://...) shared by every node (docs/server.md,
  // "Running several nodes"). Never logged with its password.
  std::string db;
  unsigned db_connections = 32;  // PostgreSQL connections per node, at most

  unsigned threads = 0;                           // 0: twice the cores, at least 8
  unsigned max_connections = 256;                 // served at once (threads grow to it)
  unsigned max_connections_per_address = 64;      // of those, from one address (0: no cap)
  uint64_t max_object_bytes = uint64_t{8} << 30;  // one blob
  uint64_t max_metadata_bytes = 64u << 20;        // one manifest, snap or chunk list
  uint64_t max_json_bytes = 16u << 20;            // one JSON request body
  uint64_t max_ids_per_request = 100000;          // objects/missing, objects/fetch, a pack
  uint64_t max_header_bytes = 64u << 10;          // request line + headers (HTTP only)
  int read_timeout_seconds = 60;
  int write_timeout_seconds = 60;
  int keep_alive_timeout_seconds = 5;
  int keep_alive_max_requests = 100;
  // Failed token attempts from one address: after auth_fail_limit within
  // auth_fail_window_seconds it is refused (429) for auth_block_seconds,
  // doubling on each further trip up to auth_block_max_seconds.
  int auth_fail_limit = 20;
  int auth_fail_window_seconds = 60;
  int auth_block_seconds = 30;
  int auth_block_max_seconds = 3600;
  // How often a running server sweeps the data dir's stale temp files and
  // orphan packs (server/sweep.h).
  int sweep_interval_seconds = 600;
  bool web = true;  // the web view at / (server/routes_web.h); --no-web: off
  std::string log_level = "info";  // "debug", "info" (access log), "warn", "error"
  // HTTPS when both are set: a PEM certificate (chain) and its private key.
  fs::path tls_cert_file;
  fs::path tls_key_file;
  // Reverse proxies whose X-Forwarded-For is believed (addresses, CIDRs):
  // the client they name is the address of the access log, the audit and
  // the backoff. Empty: the header is ignored, the TCP peer is the client.
  TrustedProxies trusted_proxies;

  unsigned EffectiveThreads() const;
  bool postgres() const { return !db.empty() && db != "sqlite"; }
};

// Checks a --db / CONVERGE_DB / "db" value: "sqlite", or a libpq URL
// (postgresql:// or postgres://, or a key=value string naming dbname or
// host). kInvalid otherwise, naming `what` and never the password.
Status CheckDbSetting(std::string_view value, std::string_view what);

// Parses "HOST:PORT" ("[::1]:PORT" for IPv6). PORT 0 asks for any free port.
Status ParseListen(std::string_view text, std::string* host, int* port);

// Overlays the settings in the JSON object file `path` on `config`. Unknown
// keys and wrong types fail, naming the key, so a typo is never ignored.
Status LoadConfigFile(const fs::path& path, ServerConfig& config);

}  // namespace converge

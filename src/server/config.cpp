#include "server/config.h"

#include <charconv>
#include <thread>

#include "base/json.h"

namespace converge {

unsigned ServerConfig::EffectiveThreads() const {
  if (threads > 0) return threads;
  unsigned cores = std::thread::hardware_concurrency();
  return std::max(8u, 2 * cores);
}

Status CheckDbSetting(std::string_view value, std::string_view what) {
  auto starts = [&](std::string_view p) { return value.substr(0, p.size()) == p; };
  bool key_value = value.find('=') != std::string_view::npos &&
                   (value.find("dbname") != std::string_view::npos ||
                    value.find("host") != std::string_view::npos);
  if (value == "sqlite" || starts("postgresql://") || starts("postgres://") || key_value)
    return Status::Ok();
  // The value itself is not repeated: it may hold a password.
  return Invalid(std::string(what) +
                 " must be \"sqlite\" or a PostgreSQL connection URL such as "
                 "postgresql://converge@db.example.com/converge or "
                 "postgresql:///converge?host=/run/postgresql");
}

Status ParseListen(std::string_view text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return Invalid("listen address '" + std::string(text) + "' is not HOST:PORT");
  std::string_view h = text.substr(0, colon), p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int value = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value < 0 || value > 65535)
    return Invalid("listen address '" + std::string(text) + "' has no valid port (0-65535)");
  *host = std::string(h);
  *port = value;
  return Status::Ok();
}

namespace {

using json = nlohmann::json;

Status Number(const json& v, const std::string& key, uint64_t min, uint64_t max, uint64_t* out) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() < min || v.get<uint64_t>() > max)
    return Invalid("setting \"" + key + "\" must be a whole number from " + std::to_string(min) +
                   " to " + std::to_string(max));
  *out = v.get<uint64_t>();
  return Status::Ok();
}

template <class T>
Status NumberInto(const json& v, const std::string& key, uint64_t min, uint64_t max, T* out) {
  uint64_t n = 0;
  RETURN_IF_ERROR(Number(v, key, min, max, &n));
  *out = static_cast<T>(n);
  return Status::Ok();
}

Status TrustedProxiesSetting(const json& v, ServerConfig& c) {
  std::vector<std::string> entries;
  bool strings = v.is_array();
  for (const json& e : strings ? v : json::array()) {
    strings = strings && e.is_string();
    if (strings) entries.push_back(e.get<std::string>());
  }
  if (!strings)
    return Invalid(
        "setting \"trusted_proxies\" must be a list of addresses or CIDR networks, "
        "e.g. [\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\"]");
  ASSIGN_OR_RETURN(c.trusted_proxies, TrustedProxies::Parse(entries));
  return Status::Ok();
}

Status Apply(const std::string& key, const json& v, ServerConfig& c) {
  constexpr uint64_t kMax = uint64_t{1} << 50;
  if (key == "listen") {
    if (!v.is_string()) return Invalid("setting \"listen\" must be a \"HOST:PORT\" string");
    return ParseListen(v.get<std::string>(), &c.host, &c.port);
  }
  if (key == "log_level") {
    std::string level = v.is_string() ? v.get<std::string>() : "";
    if (level != "debug" && level != "info" && level != "warn" && level != "error")
      return Invalid("setting \"log_level\" must be \"debug\", \"info\", \"warn\" or \"error\"");
    c.log_level = level;
    return Status::Ok();
  }
  if (key == "tls_cert_file" || key == "tls_key_file") {
    if (!v.is_string() || v.get<std::string>().empty())
      return Invalid("setting \"" + key + "\" must be the path of a PEM file");
    (key == "tls_cert_file" ? c.tls_cert_file : c.tls_key_file) = v.get<std::string>();
    return Status::Ok();
  }
  if (key == "trusted_proxies") return TrustedProxiesSetting(v, c);
  if (key == "db") {
    if (!v.is_string()) return Invalid("setting \"db\" must be \"sqlite\" or a postgresql:// URL");
    RETURN_IF_ERROR(CheckDbSetting(v.get<std::string>(), "setting \"db\""));
    c.db = v.get<std::string>();
    return Status::Ok();
  }
  if (key == "db_connections") return NumberInto(v, key, 1, 1000, &c.db_connections);
  if (key == "web") {
    if (!v.is_boolean()) return Invalid("setting \"web\" must be true or false");
    c.web = v.get<bool>();
    return Status::Ok();
  }
  if (key == "threads") return NumberInto(v, key, 1, 1024, &c.threads);
  if (key == "max_connections") return NumberInto(v, key, 1, 4096, &c.max_connections);
  if (key == "max_connections_per_address")
    return NumberInto(v, key, 0, 4096, &c.max_connections_per_address);
  if (key == "max_object_bytes") return NumberInto(v, key, 1, kMax, &c.max_object_bytes);
  if (key == "max_metadata_bytes") return NumberInto(v, key, 1024, kMax, &c.max_metadata_bytes);
  if (key == "max_json_bytes") return NumberInto(v, key, 1024, kMax, &c.max_json_bytes);
  if (key == "max_ids_per_request") return NumberInto(v, key, 1, kMax, &c.max_ids_per_request);
  if (key == "max_header_bytes") return NumberInto(v, key, 1024, 1u << 20, &c.max_header_bytes);
  if (key == "auth_fail_limit") return NumberInto(v, key, 1, 1000000, &c.auth_fail_limit);
  if (key == "auth_fail_window_seconds")
    return NumberInto(v, key, 1, 86400, &c.auth_fail_window_seconds);
  if (key == "auth_block_seconds") return NumberInto(v, key, 1, 86400, &c.auth_block_seconds);
  if (key == "auth_block_max_seconds")
    return NumberInto(v, key, 1, 86400 * 7, &c.auth_block_max_seconds);
  if (key == "read_timeout_seconds") return NumberInto(v, key, 1, 3600, &c.read_timeout_seconds);
  if (key == "write_timeout_seconds") return NumberInto(v, key, 1, 3600, &c.write_timeout_seconds);
  if (key == "keep_alive_timeout_seconds")
    return NumberInto(v, key, 1, 3600, &c.keep_alive_timeout_seconds);
  if (key == "sweep_interval_seconds")
    return NumberInto(v, key, 1, 86400, &c.sweep_interval_seconds);
  if (key == "keep_alive_max_requests")
    return NumberInto(v, key, 1, 1000000, &c.keep_alive_max_requests);
  return Invalid("unknown setting \"" + key + "\" (see docs/server.md for the list)");
}

}  // namespace

Status LoadConfigFile(const fs::path& path, ServerConfig& config) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status().With("reading config file '" + path.string() + "'");
  Result<json> j = ParseJson(*text);
  if (!j.ok()) return j.status().With("config file '" + path.string() + "'");
  if (!j->is_object())
    return Invalid("config file '" + path.string() + "' must hold one JSON object");
  for (const auto& [key, value] : j->items())
    RETURN_IF_ERROR(Apply(key, value, config).With("config file '" + path.string() + "'"));
  // Relative certificate paths are relative to the file that names them.
  for (fs::path* p : {&config.tls_cert_file, &config.tls_key_file})
    if (!p->empty() && p->is_relative()) *p = path.parent_path() / *p;
  return Status::Ok();
}

}  // namespace converge

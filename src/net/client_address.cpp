#include "net/client_address.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstring>

#include "net/http_server_head.h"

namespace converge {

namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsV4Mapped(const std::array<uint8_t, 16>& b) {
  return std::memcmp(b.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0;
}

bool IsPort(std::string_view s) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && value <= 65535;
}

Status BadProxyEntry(const std::string& entry, const std::string& why) {
  return Invalid("trusted proxy '" + entry + "' " + why +
                 " (give an address or a network: 10.0.0.5, 10.0.0.0/8, ::1, fd00::/8)");
}

}  // namespace

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  // inet_pton wants a NUL-terminated string; an address is short.
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddress a;
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::memcpy(a.bytes.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size());
    std::memcpy(a.bytes.data() + 12, &v4, 4);
    a.v4 = true;
    return a;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  std::memcpy(a.bytes.data(), &v6, 16);
  a.v4 = IsV4Mapped(a.bytes);
  return a;
}

std::string FormatIpAddress(const IpAddress& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.v4) {
    ::inet_ntop(AF_INET, a.bytes.data() + 12, buf, sizeof buf);
  } else {
    ::inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::optional<IpAddress> ParseForwardedEntry(std::string_view entry) {
  std::string_view s = TrimOws(entry);
  if (!s.empty() && s.front() == '[') {
    // "[v6]" or "[v6]:port"
    size_t close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !IsPort(rest.substr(1)))) return std::nullopt;
    std::string_view inside = s.substr(1, close - 1);
    if (inside.find(':') == std::string_view::npos) return std::nullopt;  // IPv6 text only
    return ParseIpAddress(inside);
  }
  if (std::optional<IpAddress> a = ParseIpAddress(s)) return a;
  // "v4:port" (a bare IPv6 address has several colons and parsed above).
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || s.find(':', colon + 1) != std::string_view::npos)
    return std::nullopt;
  if (!IsPort(s.substr(colon + 1))) return std::nullopt;
  return ParseIpAddress(s.substr(0, colon));
}

namespace {

// "ADDR" or "ADDR/PREFIX" as 16 bytes and a prefix of all 128 bits, and the
// prefix as written (of 32 bits for IPv4).
Status ParseProxyNet(const std::string& entry, std::array<uint8_t, 16>* bytes, int* prefix128,
                     int* written) {
  std::string_view text = entry, prefix_text;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    prefix_text = text.substr(slash + 1);
    text = text.substr(0, slash);
  }
  std::optional<IpAddress> a = ParseIpAddress(text);
  if (!a) return BadProxyEntry(entry, "is not an IP address or CIDR network");
  int max = a->v4 ? 32 : 128, prefix = max;
  if (slash != std::string_view::npos) {
    const char* last = prefix_text.data() + prefix_text.size();
    auto [end, ec] = std::from_chars(prefix_text.data(), last, prefix);
    if (prefix_text.empty() || ec != std::errc() || end != last || prefix < 0 || prefix > max)
      return BadProxyEntry(entry, "has a prefix length that is not 0 to " + std::to_string(max));
  }
  *written = prefix;
  *prefix128 = prefix + (a->v4 ? 96 : 0);
  IpAddress base = *a;
  for (int bit = *prefix128; bit < 128; bit++) base.bytes[bit / 8] &= ~(0x80 >> (bit % 8));
  if (base.bytes != a->bytes)
    return BadProxyEntry(entry, "has bits set past its /" + std::to_string(prefix) +
                                    " prefix: write " + FormatIpAddress(base) + "/" +
                                    std::to_string(prefix));
  *bytes = a->bytes;
  return Status::Ok();
}

}  // namespace

Result<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (const std::string& entry : entries) {
    Net net;
    RETURN_IF_ERROR(ParseProxyNet(entry, &net.bytes, &net.prefix, &net.written));
    out.nets_.push_back(net);
    out.entries_.push_back(entry);
  }
  return out;
}

std::vector<std::string> TrustedProxies::TooBroad() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < nets_.size(); i++)
    if (nets_[i].written < 8) out.push_back(entries_[i]);
  return out;
}

bool TrustedProxies::Contains(const IpAddress& a) const {
  for (const Net& n : nets_) {
    int full = n.prefix / 8, rest = n.prefix % 8;
    if (std::memcmp(a.bytes.data(), n.bytes.data(), full) != 0) continue;
    if (rest != 0) {
      uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
      if ((a.bytes[full] & mask) != n.bytes[full]) continue;
    }
    return true;
  }
  return false;
}

bool TrustedProxies::Contains(std::string_view addr) const {
  std::optional<IpAddress> a = ParseIpAddress(addr);
  return a && Contains(*a);
}

std::string PickClientAddress(std::string_view peer, const std::vector<std::string>& forwarded_for,
                              const TrustedProxies& trusted) {
  std::optional<IpAddress> peer_ip = ParseIpAddress(peer);
  if (!peer_ip || !trusted.Contains(*peer_ip)) return std::string(peer);
  std::vector<std::string_view> entries;
  for (const std::string& line : forwarded_for) {
    std::string_view rest = line;
    for (size_t comma; (comma = rest.find(',')) != std::string_view::npos;) {
      entries.push_back(rest.substr(0, comma));
      rest.remove_prefix(comma + 1);
    }
    entries.push_back(rest);
  }
  // The hop passed over last: a trusted address that said who is before it.
  IpAddress last = *peer_ip;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    std::optional<IpAddress> hop = ParseForwardedEntry(*it);
    if (!hop) break;  // who is behind garbage is unknown: its writer answers for it
    last = *hop;
    if (!trusted.Contains(*hop)) break;
  }
  return FormatIpAddress(last);
}

bool ForwardedHttps(std::string_view peer, const std::vector<std::string>& forwarded_proto,
                    const TrustedProxies& trusted) {
  if (forwarded_proto.empty() || !trusted.Contains(peer)) return false;
  std::string_view last = forwarded_proto.back();
  if (size_t comma = last.rfind(','); comma != std::string_view::npos)
    last.remove_prefix(comma + 1);
  last = TrimOws(last);
  static constexpr std::string_view kHttps = "https";
  if (last.size() != kHttps.size()) return false;
  for (size_t i = 0; i < last.size(); i++)
    if (std::tolower(static_cast<unsigned char>(last[i])) != kHttps[i]) return false;
  return true;
}

}  // namespace converge

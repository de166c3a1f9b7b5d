// Who sent a request when reverse proxies stand in between, with no domain in
// it: the proxy networks a server trusts (addresses and CIDRs, IPv4 and
// IPv6) and the client address picked from X-Forwarded-For. The server's
// settings (server/config.h) say which proxies to trust; net/http_server.cpp
// resolves each request's address with them (ClientAddress, net/http_io.h).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace converge {

// An IPv4 or IPv6 address; IPv4 (and IPv4-mapped IPv6, "::ffff:1.2.3.4") is
// held as its IPv4-mapped form so that one comparison serves both.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
};

// Parses an address exactly: dotted-quad IPv4 or RFC 4291 IPv6 text, with no
// port, brackets, zone ("%eth0") or whitespace. nullopt otherwise.
std::optional<IpAddress> ParseIpAddress(std::string_view text);
// The canonical text (inet_ntop): "192.0.2.1", "2001:db8::1"; an
// IPv4-mapped address is written as IPv4.
std::string FormatIpAddress(const IpAddress& a);

// Parses one X-Forwarded-For entry: an address with spaces and tabs around
// it trimmed, optionally with a port ("192.0.2.1:443", "[2001:db8::1]:443")
// or in brackets ("[2001:db8::1]"). nullopt for anything else (empty,
// "unknown", an obfuscated name, a zone, garbage).
std::optional<IpAddress> ParseForwardedEntry(std::string_view entry);

// The networks whose requests may say who their client is.
class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Each entry an address ("10.0.0.1", "::1") or a network in CIDR form
  // ("10.0.0.0/8", "fd00::/8"). kInvalid naming the first bad entry and what
  // is wrong with it: not an address, a prefix out of range, or bits set past
  // the prefix ("10.0.0.1/8": write "10.0.0.0/8").
  static Result<TrustedProxies> Parse(const std::vector<std::string>& entries);

  bool empty() const { return nets_.empty(); }
  bool Contains(const IpAddress& a) const;
  // False for text that is not an address.
  bool Contains(std::string_view addr) const;
  // The entries as given, for notes and messages.
  const std::vector<std::string>& entries() const { return entries_; }
  // The entries wider than a /8 of their family (0.0.0.0/0, ::/0, 0.0.0.0/1,
  // ...): no operator's proxies, so a mistake that lets any client name its
  // own address (the server warns at start).
  std::vector<std::string> TooBroad() const;

 private:
  struct Net {
    std::array<uint8_t, 16> bytes{};
    int prefix = 128;  // of the 128 bits (an IPv4 /8 is 96 + 8)
    int written = 128;  // the prefix as written, in its family's bits (an IPv4 /8: 8)
  };
  std::vector<Net> nets_;
  std::vector<std::string> entries_;
};

// The client address of a request whose TCP peer is `peer`, given its
// X-Forwarded-For header lines in the order they came (each a comma list).
//
// From a peer that is not trusted (or with no trusted proxies) the header is
// ignored: the answer is `peer`, as given. From a trusted peer, the lines
// are read as one list and walked from the right (the entry the nearest
// proxy appended) past every trusted address; the answer is the first
// untrusted one, in canonical form and without its port. Entries to its left
// are whatever the client sent and are never looked at, so a forged
// left-most entry changes nothing. When every entry is trusted (or there is
// no header) the answer is the left-most, farthest hop (the peer itself when
// there is none). A malformed entry ends the walk: its writer, the trusted
// hop just passed over (its right neighbour, or the peer), is the answer,
// since nobody can say who is behind it.
std::string PickClientAddress(std::string_view peer, const std::vector<std::string>& forwarded_for,
                              const TrustedProxies& trusted);

// Whether a trusted proxy says the client reached it over HTTPS: `peer` is
// trusted and the right-most X-Forwarded-Proto entry (the one the nearest
// proxy wrote; lines in the order they came, each a comma list) is "https"
// in any letter case, spaces and tabs around it trimmed. From a peer that is
// not trusted the header is ignored (false), as X-Forwarded-For is.
bool ForwardedHttps(std::string_view peer, const std::vector<std::string>& forwarded_proto,
                    const TrustedProxies& trusted);

}  // namespace converge

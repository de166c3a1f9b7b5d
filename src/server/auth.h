// Identity: users and their bearer tokens.
//
// A token is "cvg_<16 hex id>_<64 hex secret>"; the secret is 32 random bytes
// from libsodium, shown once, and stored only as BLAKE2b-256 of those bytes,
// compared in constant time. Missing, malformed, unknown, expired and revoked
// tokens are all kUnauthenticated. A token that fails (unknown, expired,
// revoked) is audited under its id, never its secret; a request without one
// (no header, an empty one, or one holding no converge token) is refused
// without touching the database, so it costs no audit row and no fsync.
// Both count as failures of their address: repeated ones are refused for a
// while without a token check (see rate_limit.h), and the audit log gets one
// "auth.throttle" row per block, not one per refusal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire.h"
#include "server/caller.h"
#include "server/config.h"
#include "server/db_pool.h"
#include "server/rate_limit.h"

namespace converge {

class Identity {
 public:
  explicit Identity(DbPool& dbs, const ServerConfig& config = ServerConfig());

  // On an empty database: creates the server admin "admin" and writes its
  // token to `token_file` (mode 0600). Returns whether it did; once any user
  // exists it never does again, even if the file was removed.
  Result<bool> Bootstrap(const fs::path& token_file);

  // The caller behind an "Authorization" header value ("Bearer TOKEN").
  // When `remote_addr` is blocked for repeated failures, fails without a
  // token check and sets *retry_after to the seconds left (HTTP: 429).
  Result<Caller> Authenticate(std::string_view authorization, const std::string& remote_addr,
                              int64_t* retry_after = nullptr);

  Result<wire::Whoami> Whoami(const Caller& caller);
  Result<wire::CreatedUser> CreateUser(const Caller& caller, const wire::NewUserRequest& req);
  Result<std::vector<wire::User>> ListUsers(const Caller& caller);
  Result<wire::IssuedToken> CreateToken(const Caller& caller, const wire::NewTokenRequest& req);
  // The caller's tokens; a server admin may ask for `user`'s, or everyone's.
  Result<std::vector<wire::Token>> ListTokens(const Caller& caller,
                                              const std::optional<std::string>& user);
  Result<wire::Token> RevokeToken(const Caller& caller, std::string_view token_id);

 private:
  // Counts a refusal against `remote`; when that starts a block, appends its
  // one "auth.throttle" row (on `db`, or a connection of its own when null).
  void CountFailure(const std::string& remote, const std::string& actor, Db* db);

  DbPool& dbs_;
  AuthThrottle throttle_;
};

// A user by handle; kNotFound naming it when there is none.
Result<wire::User> FindUser(Db& db, std::string_view handle);

}  // namespace converge

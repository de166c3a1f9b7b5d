// Bearer tokens, below the Identity service (server/auth.h): their text, how
// a new one is made and stored, and how a presented one is checked. The
// rows are store/records/identity.h's; nothing here checks who may ask or
// writes the audit log (the callers do).
//
// A token is "cvg_<16 hex id>_<64 hex secret>"; the secret is 32 random bytes
// from libsodium, shown once, and stored only as BLAKE2b-256 of those bytes,
// compared in constant time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/wire.h"
#include "server/caller.h"
#include "store/db.h"

namespace converge {

// A token's id: 16 lowercase hex digits.
inline constexpr size_t kTokenIdHex = 16;

// A token's text, split: the id and the secret's bytes.
struct ParsedToken {
  std::string id;
  unsigned char secret[32];
};

// The token in an "Authorization" header value ("Bearer TOKEN", the word in
// any letter case), or nullopt when the header is missing, empty or holds no
// well-formed converge token.
std::optional<ParsedToken> BearerToken(std::string_view header);

// How long a new token lives, and the token it is bound to (if any).
struct TokenTerms {
  std::optional<std::string> expires_at;
  std::optional<std::string> parent;
};

// Makes a new token for `user` and stores its row, inside the caller's write
// transaction; the answer is the only place its secret ever is. Errors: the
// database's.
Result<wire::IssuedToken> IssueToken(Db& db, const wire::User& user, const std::string& label,
                                     const TokenTerms& terms = {});

// The terms of a token the caller makes for themselves with their token
// `caller.token_id`: bound to it, so it expires no later (by default exactly
// when it does) and is revoked with it. Call it inside the write transaction
// that issues the token, so a revocation of the parent is either seen here or
// sees the new token. Errors: kUnauthenticated when the caller's token was
// revoked (or is gone); kInvalid when `expires_at` is past its expiry.
Result<TokenTerms> BoundTerms(Db& db, const Caller& caller, std::optional<std::string> expires_at);

// The caller `token` stands for, seen from `remote`. Refreshes the token's
// last use (at most once a minute; a failure to is ignored). Errors:
// kUnauthenticated for an unknown token or a wrong secret ("unknown token"),
// a revoked or an expired one, each naming the token by its id only; the
// database's. Writes no audit row (Identity::Authenticate does).
Result<Caller> CheckToken(Db& db, const ParsedToken& token, const std::string& remote);

}  // namespace converge

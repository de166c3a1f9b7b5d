// Tokens: their text, issuing and checking (server/tokens.h), and the token
// calls of the Identity service (server/auth.h).
#include "server/tokens.h"

#include <sodium.h>

#include <cctype>
#include <chrono>

#include "base/clock.h"
#include "base/hex.h"
#include "base/random.h"
#include "base/text.h"
#include "server/audit.h"
#include "server/auth.h"
#include "server/names.h"
#include "store/records/identity.h"

namespace converge {

namespace {

constexpr std::string_view kTokenPrefix = "cvg_";
constexpr size_t kSecretHex = 64;
static_assert(sizeof(ParsedToken::secret) * 2 == kSecretHex);
constexpr int64_t kMaxTokenDays = 3650;
// last_used_at is a hint, not a log: refreshing it at most this often keeps a
// busy client from turning every request into a write.
constexpr std::chrono::seconds kLastUsedGranularity{60};

std::string HashSecret(const unsigned char* secret, size_t len) {
  unsigned char out[crypto_generichash_BYTES];
  crypto_generichash(out, sizeof out, secret, len, nullptr, 0);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::optional<ParsedToken> ParseToken(std::string_view t) {
  if (t.size() != kTokenPrefix.size() + kTokenIdHex + 1 + kSecretHex ||
      t.substr(0, kTokenPrefix.size()) != kTokenPrefix)
    return std::nullopt;
  std::string_view id = t.substr(kTokenPrefix.size(), kTokenIdHex);
  if (t[kTokenPrefix.size() + kTokenIdHex] != '_' || !IsLowerHex(id)) return std::nullopt;
  ParsedToken p;
  p.id = std::string(id);
  if (!FromHex(t.substr(kTokenPrefix.size() + kTokenIdHex + 1), p.secret, sizeof p.secret))
    return std::nullopt;
  return p;
}

wire::Token ListedToken(const TokenRow& r) {
  wire::Token t;
  t.id = r.id;
  t.label = r.label;
  t.user = r.user_handle;
  t.created_at = r.created_at;
  t.last_used_at = r.last_used_at;
  t.expires_at = r.expires_at;
  t.revoked = r.revoked_at.has_value();
  t.parent = r.parent_id;
  return t;
}

}  // namespace

std::optional<ParsedToken> BearerToken(std::string_view header) {
  constexpr std::string_view kBearer = "bearer ";
  if (header.size() <= kBearer.size()) return std::nullopt;
  for (size_t i = 0; i < kBearer.size(); i++)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kBearer[i]) return std::nullopt;
  return ParseToken(header.substr(kBearer.size()));
}

Result<wire::IssuedToken> IssueToken(Db& db, const wire::User& user, const std::string& label,
                                     const TokenTerms& terms) {
  wire::IssuedToken t;
  t.id = RandomHex(kTokenIdHex / 2);
  std::string secret_hex = RandomHex(kSecretHex / 2);
  unsigned char secret[kSecretHex / 2];
  FromHex(secret_hex, secret, sizeof secret);
  t.token = std::string(kTokenPrefix) + t.id + "_" + secret_hex;
  t.label = label;
  t.user = user.handle;
  t.created_at = TimeNow();
  t.expires_at = terms.expires_at;
  t.parent = terms.parent;
  TokenRow row;
  row.id = t.id;
  row.user_id = user.id;
  row.secret_hash = HashSecret(secret, sizeof secret);
  sodium_memzero(secret, sizeof secret);
  row.label = t.label;
  row.created_at = t.created_at;
  row.expires_at = t.expires_at;
  row.parent_id = t.parent;
  RETURN_IF_ERROR(TokenRecords(db).Insert(row));
  return t;
}

Result<TokenTerms> BoundTerms(Db& db, const Caller& caller, std::optional<std::string> expires_at) {
  ASSIGN_OR_RETURN(std::optional<TokenRow> parent, TokenRecords(db).ById(caller.token_id));
  if (!parent || parent->revoked_at)
    return Unauthenticated("token " + caller.token_id + " was revoked: create a new one");
  if (parent->expires_at) {
    const std::string& limit = *parent->expires_at;
    if (!expires_at) expires_at = limit;
    if (*expires_at > limit)
      return Invalid("the token you are using (" + caller.token_id + ") expires at " + limit +
                     ", and a token made with it may not outlive it: ask for fewer days, or "
                     "leave out expires_in_days to have the new token expire with this one");
  }
  return TokenTerms{expires_at, caller.token_id};
}

Result<Caller> CheckToken(Db& db, const ParsedToken& token, const std::string& remote) {
  TokenRecords tokens(db);
  ASSIGN_OR_RETURN(std::optional<TokenRow> row, tokens.ById(token.id));
  std::string want = row ? row->secret_hash : std::string();
  std::string got = HashSecret(token.secret, sizeof token.secret);
  if (!SameSecret(want, got)) return Unauthenticated("unknown token " + token.id + ": log in again");
  std::string now = TimeNow();
  if (row->revoked_at)
    return Unauthenticated("token " + token.id + " was revoked: create a new one");
  if (row->expires_at && *row->expires_at <= now)
    return Unauthenticated("token " + token.id + " expired at " + *row->expires_at +
                           ": create a new one");
  if (!row->last_used_at || *row->last_used_at < TimeFromNow(-kLastUsedGranularity))
    (void)tokens.Touch(token.id, now);  // a hint: failure is harmless
  return Caller{row->user_id, row->user_handle, row->user_admin, token.id, remote};
}

Result<wire::IssuedToken> Identity::CreateToken(const Caller& caller,
                                                const wire::NewTokenRequest& req) {
  std::string handle = req.user.value_or(caller.handle);
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "token.create", "", "user " + handle);
  auto run = [&]() -> Result<wire::IssuedToken> {
    if (handle != caller.handle && !caller.admin)
      return attempt.Refuse(Permission("you may create tokens only for yourself ('" +
                                       caller.handle + "'); a server admin can make one for " +
                                       Quote(handle)));
    RETURN_IF_ERROR(ValidateText(req.label, "token label", 100));
    if (req.expires_in_days && (*req.expires_in_days < 1 || *req.expires_in_days > kMaxTokenDays))
      return Invalid("expires_in_days must be from 1 to " + std::to_string(kMaxTokenDays));
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    ASSIGN_OR_RETURN(wire::User user, FindUser(*db, handle));
    TokenTerms terms;
    if (req.expires_in_days)
      terms.expires_at = TimeFromNow(std::chrono::hours(24 * *req.expires_in_days));
    // A token for yourself is bound to the one you made it with; one a
    // server admin makes for someone else is not (docs/api.md, Tokens).
    if (user.id == caller.user_id && !caller.token_id.empty()) {
      ASSIGN_OR_RETURN(terms, BoundTerms(*db, caller, terms.expires_at));
    }
    ASSIGN_OR_RETURN(wire::IssuedToken token, IssueToken(*db, user, req.label, terms));
    attempt.set_target(token.id);
    RETURN_IF_ERROR(
        AppendAudit(*db, attempt.Ok("for user " + Quote(handle) + ", label " + Quote(req.label) +
                                    (token.expires_at ? ", expires " + *token.expires_at : "") +
                                    (token.parent ? ", bound to token " + *token.parent : ""))));
    RETURN_IF_ERROR(tx.Commit());
    return token;
  };
  return attempt.Done(run());
}

Result<std::vector<wire::Token>> Identity::ListTokens(const Caller& caller,
                                                      const std::optional<std::string>& user) {
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "token.list", "", user.value_or(""));
  std::optional<std::string> who = user;
  if (!caller.admin) {
    if (who && *who != caller.handle)
      return attempt.Done(attempt.Refuse(
          Permission("you may list only your own tokens, not " + Quote(*who) + "'s")));
    who = caller.handle;
  }
  if (who) RETURN_IF_ERROR(FindUser(*db, *who).status());
  ASSIGN_OR_RETURN(std::vector<TokenRow> rows, TokenRecords(*db).List(who));
  std::vector<wire::Token> out;
  for (const TokenRow& r : rows) out.push_back(ListedToken(r));
  return out;
}

Result<wire::Token> Identity::RevokeToken(const Caller& caller, std::string_view token_id) {
  if (token_id.size() != kTokenIdHex || !IsLowerHex(token_id))
    return Invalid(Quote(token_id) + " is not a token id (16 lowercase hex digits)");
  ASSIGN_OR_RETURN(DbPool::Lease db, dbs_.Acquire());
  Attempt attempt(*db, caller, "token.revoke", "", std::string(token_id));
  auto run = [&]() -> Result<wire::Token> {
    ASSIGN_OR_RETURN(Db::Tx tx, db->BeginWrite());
    TokenRecords tokens(*db);
    ASSIGN_OR_RETURN(std::optional<TokenRow> row, tokens.ById(token_id));
    std::string missing = "token " + std::string(token_id) + " not found";
    if (!row) return NotFound(missing);
    // Someone else's token is as invisible as a missing one.
    if (row->user_id != caller.user_id && !caller.admin) return attempt.Refuse(NotFound(missing));
    wire::Token token = ListedToken(*row);
    std::string detail = "of user " + Quote(token.user);
    std::string now = TimeNow();
    if (token.revoked) {
      detail += " (already revoked)";
    } else {
      RETURN_IF_ERROR(tokens.Revoke(token_id, now));
      token.revoked = true;
    }
    // Every token made with it, and made with those, goes with it.
    ASSIGN_OR_RETURN(int64_t n, tokens.RevokeBoundTo(token_id, now));
    if (n > 0) detail += ", and " + std::to_string(n) + " token(s) made with it";
    RETURN_IF_ERROR(AppendAudit(*db, attempt.Ok(detail)));
    RETURN_IF_ERROR(tx.Commit());
    return token;
  };
  return attempt.Done(run());
}

}  // namespace converge

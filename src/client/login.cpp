#include "client/login.h"

#include "base/text.h"
#include "client/credentials.h"

namespace converge {

Result<wire::Whoami> LogIn(const std::string& url, const std::string& token,
                           const ServerFlags& flags) {
  ASSIGN_OR_RETURN(ApiClient api, ConnectWithToken(url, token, flags));
  Result<wire::Whoami> me = api.Whoami();
  if (!me.ok()) {
    if (me.status().code() == Code::kUnauthenticated)
      return Unauthenticated("the server at " + url + " refused that token (" +
                             me.status().message() + "); nothing was stored");
    return me.status();
  }
  ASSIGN_OR_RETURN(Credentials creds, Credentials::Load());
  creds.Set(url, StoredLogin{token, me->user.handle, NowRfc3339()});
  RETURN_IF_ERROR(creds.Save());
  return me;
}

Result<bool> LogOut(const std::string& url) {
  ASSIGN_OR_RETURN(Credentials creds, Credentials::Load());
  bool removed = creds.Remove(url);
  if (removed) RETURN_IF_ERROR(creds.Save());
  return removed;
}

}  // namespace converge

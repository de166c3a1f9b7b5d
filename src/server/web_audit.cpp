#include "server/web_audit.h"

#include "base/text.h"
#include "server/audit_verify.h"
#include "server/web_html.h"

namespace converge {

namespace {

constexpr int kAuditPageRows = 100;

std::string AuditUrl(const WebAuditQuery& q) {
  return q.repo ? "/r/" + PercentEncode(*q.repo) + "/audit" : "/audit";
}

// The verdict of the whole chain up to the signed head, read page by page
// as `converge audit --verify` reads it.
Result<AuditVerdict> VerifyChain(Authority& a, const Caller& caller) {
  ASSIGN_OR_RETURN(wire::AuditHead head, a.audit().Head(caller));
  AuditChainVerifier verifier(head, a.audit_key().public_key(), std::nullopt);
  std::optional<int64_t> before = head.seq + 1;
  while (before) {
    ASSIGN_OR_RETURN(wire::AuditPage page, a.audit().ListAll(caller, 1000, before));
    for (const wire::AuditEntry& e : page.entries) verifier.Add(e);
    before.reset();
    if (page.next && !page.entries.empty()) before = page.entries.back().seq;
  }
  return verifier.Finish();
}

std::string VerdictHtml(const AuditVerdict& v) {
  if (v.ok())
    return "<p>Verified: " + std::to_string(v.rows_checked) +
           " rows, every hash and link, up to the head signed at row " +
           std::to_string(v.head.seq) + " by " + HtmlEscape(v.fingerprint) + ".</p>";
  std::string out =
      "<div class=\"error\"><p>The audit log does NOT verify: " + std::to_string(v.problem_count) +
      " problem(s).</p><ul>";
  for (const AuditProblem& p : v.problems) out += "<li>" + HtmlEscape(p.message) + "</li>";
  return out + "</ul></div>";
}

}  // namespace

Result<std::string> AuditPageBody(Authority& a, const Caller& caller, const WebAuditQuery& q) {
  wire::AuditPage page;
  if (q.repo) {
    ASSIGN_OR_RETURN(page, a.audit().ListRepo(caller, *q.repo, kAuditPageRows, q.before));
  } else {
    ASSIGN_OR_RETURN(page, a.audit().ListAll(caller, kAuditPageRows, q.before));
  }
  std::string out = "<h1>Audit log" + (q.repo ? " of " + HtmlEscape(*q.repo) : "") + "</h1>";
  if (!q.repo && q.verify) {
    ASSIGN_OR_RETURN(AuditVerdict v, VerifyChain(a, caller));
    out += VerdictHtml(v);
  } else if (!q.repo) {
    out += "<p><a href=\"/audit?verify=1\">Verify the hash chain and the signed head</a></p>";
  } else {
    out +=
        "<p class=\"muted\">The chain spans every repo: a server admin verifies it at "
        "/audit.</p>";
  }
  out +=
      "<table><tr><th>#</th><th>at</th><th>actor</th><th>action</th><th>repo</th>"
      "<th>target</th><th>outcome</th><th>detail</th><th>from</th></tr>";
  for (const wire::AuditEntry& e : page.entries) {
    out += "<tr><td>" + std::to_string(e.seq) + "</td>";
    for (const std::string* s :
         {&e.at, &e.actor, &e.action, &e.repo, &e.target, &e.outcome, &e.detail, &e.remote_addr})
      out += "<td>" + HtmlEscape(*s) + "</td>";
    out += "</tr>";
  }
  out += "</table>";
  if (page.next)
    out += "<p><a href=\"" + HtmlEscape(AuditUrl(q) + "?before=" + PercentEncode(*page.next)) +
           "\">Older rows</a></p>";
  return out;
}

}  // namespace converge

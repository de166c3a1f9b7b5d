#include "server/web_audit.h"

#include "base/text.h"
#include "server/web_html.h"

namespace converge {

namespace {

constexpr int kAuditPageRows = 100;

std::string AuditUrl(const WebAuditQuery& q) {
  return q.repo ? "/r/" + PercentEncode(*q.repo) + "/audit" : "/audit";
}

// The page's filters as a query string ("" or "?k=v&..."), each value
// percent-encoded; `extra` ("k=v", already encoded) goes last.
std::string AuditFilterQuery(const AuditFilter& f, bool whole_log, const std::string& extra = "") {
  std::string q;
  auto add = [&](const char* k, const std::optional<std::string>& v) {
    if (v) q += std::string(q.empty() ? "?" : "&") + k + "=" + PercentEncode(*v);
  };
  add("actor", f.actor);
  add("action", f.action);
  if (whole_log) add("repo", f.repo);
  add("outcome", f.outcome);
  add("since", f.since);
  add("until", f.until);
  if (!extra.empty()) q += (q.empty() ? "?" : "&") + extra;
  return q;
}

std::string AuditAnchor(const std::string& url, std::string_view text) {
  return "<a href=\"" + HtmlEscape(url) + "\">" + HtmlEscape(text) + "</a>";
}

std::string AuditTextField(const char* name, const char* label, const std::optional<std::string>& v,
                           const char* placeholder) {
  return "<label>" + std::string(label) + " <input type=\"text\" name=\"" + name +
         "\" size=\"16\" placeholder=\"" + placeholder + "\" value=\"" +
         HtmlEscape(v.value_or("")) + "\"></label>";
}

std::string AuditFilterForm(const WebAuditQuery& q) {
  const AuditFilter& f = q.filter;
  std::string out = "<form class=\"filters\" method=\"get\" action=\"" + HtmlEscape(AuditUrl(q)) +
                    "\">" + AuditTextField("actor", "actor", f.actor, "handle") +
                    AuditTextField("action", "action", f.action, "repo.create");
  if (!q.repo) out += AuditTextField("repo", "repo", f.repo, "name");
  out += "<label>outcome <select name=\"outcome\"><option value=\"\">any</option>";
  for (const char* o : {"ok", "refused"})
    out += std::string("<option value=\"") + o + "\"" + (f.outcome == o ? " selected" : "") + ">" +
           (std::string(o) == "ok" ? "allowed" : "refused") + "</option>";
  out += "</select></label>" + AuditTextField("since", "since", f.since, "2026-11-01") +
         AuditTextField("until", "until", f.until, "2026-11-30") +
         "<button type=\"submit\">Filter</button> " + AuditAnchor(AuditUrl(q), "clear") + "</form>";
  return out;
}

std::string AuditVerdictHtml(const AuditVerdict& v) {
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

// A cell whose value, clicked, narrows the page to it (the other filters kept).
std::string AuditNarrowingCell(const WebAuditQuery& q, const char* key, const std::string& value) {
  if (value.empty()) return "<td></td>";
  WebAuditQuery narrowed = q;
  (std::string(key) == "actor" ? narrowed.filter.actor : narrowed.filter.action) = value;
  return "<td>" + AuditAnchor(AuditUrl(q) + AuditFilterQuery(narrowed.filter, !q.repo), value) +
         "</td>";
}

std::string AuditRowsTable(const WebAuditQuery& q, const wire::AuditPage& page) {
  std::string out =
      "<table><tr><th>#</th><th>at</th><th>actor</th><th>action</th><th>repo</th>"
      "<th>target</th><th>outcome</th><th>detail</th><th>from</th></tr>";
  for (const wire::AuditEntry& e : page.entries) {
    out += "<tr><td>" + std::to_string(e.seq) + "</td><td>" + HtmlEscape(e.at) + "</td>" +
           AuditNarrowingCell(q, "actor", e.actor) + AuditNarrowingCell(q, "action", e.action);
    for (const std::string* s : {&e.repo, &e.target, &e.outcome, &e.detail, &e.remote_addr})
      out += "<td>" + HtmlEscape(*s) + "</td>";
    out += "</tr>";
  }
  out += "</table>";
  if (page.entries.empty()) out += "<p class=\"muted\">No rows match.</p>";
  return out;
}

}  // namespace

Result<std::string> AuditPageBody(Authority& a, const Caller& caller, const WebAuditQuery& q) {
  wire::AuditPage page;
  if (q.repo) {
    ASSIGN_OR_RETURN(page, a.audit().ListRepo(caller, *q.repo, kAuditPageRows, q.before, q.filter));
  } else {
    ASSIGN_OR_RETURN(page, a.audit().ListAll(caller, kAuditPageRows, q.before, q.filter));
  }
  std::string out = "<h1>Audit log" + (q.repo ? " of " + HtmlEscape(*q.repo) : "") + "</h1>";
  if (!q.repo && q.verify) {
    ASSIGN_OR_RETURN(AuditVerdict v, a.audit().Verify(caller));
    out += AuditVerdictHtml(v);
  } else if (!q.repo) {
    out += "<p>" + AuditAnchor("/audit?verify=1", "Verify the hash chain and the signed head") +
           " <span class=\"muted\">(reads the whole log)</span></p>";
  } else {
    out +=
        "<p class=\"muted\">The chain spans every repo: a server admin verifies it at "
        "/audit.</p>";
  }
  out += AuditFilterForm(q) + AuditRowsTable(q, page);
  if (page.next)
    out += "<p>" +
           AuditAnchor(AuditUrl(q) + AuditFilterQuery(q.filter, !q.repo,
                                                      "before=" + PercentEncode(*page.next)),
                       "Older rows") +
           "</p>";
  return out;
}

}  // namespace converge

#include "client/audit_log.h"

#include <algorithm>

#include "base/text.h"
#include "client/session.h"
#include "net/pager.h"

namespace converge {

Result<wire::AuditPage> ReadAuditLog(ApiClient& api, const std::string& repo, int limit,
                                     const AuditLogFilter& filter) {
  wire::AuditPage out;
  Pager pager(api.http(), repo.empty() ? "the audit log" : "the audit log of repo " + Quote(repo));
  while (static_cast<int>(out.entries.size()) < limit) {
    int want = std::min(kMaxAuditPage, limit - static_cast<int>(out.entries.size()));
    ASSIGN_OR_RETURN(wire::AuditPage page, api.Audit(repo, want, pager.cursor(), filter));
    size_t got = page.entries.size();
    for (wire::AuditEntry& e : page.entries) out.entries.push_back(std::move(e));
    out.next = page.next;
    ASSIGN_OR_RETURN(bool more, pager.Advance(got, page.next));
    if (!more) break;
  }
  if (static_cast<int>(out.entries.size()) > limit) out.entries.resize(limit);
  return out;
}

Status ReadAuditLogDown(ApiClient& api, int64_t head_seq, int page_size,
                        const std::function<void(const wire::AuditEntry&)>& fn) {
  page_size = std::clamp(page_size, 1, kMaxAuditPage);
  // The log holds head_seq rows, no more, in full pages of page_size; the
  // rows are handed on and dropped, so the bytes need no cap.
  Pager::Limits limits;
  limits.items = static_cast<uint64_t>(std::max<int64_t>(head_seq, 0));
  limits.pages += limits.items / static_cast<uint64_t>(page_size);
  limits.bytes = UINT64_MAX;
  Pager pager(api.http(), "the audit log", limits);
  RETURN_IF_ERROR(pager.Restart(std::to_string(head_seq + 1)));
  for (;;) {
    Result<wire::AuditPage> page = api.Audit("", page_size, pager.cursor());
    if (!page.ok()) return ExplainFailure(page.status(), "verify the whole audit log", "");
    for (const wire::AuditEntry& e : page->entries) fn(e);
    ASSIGN_OR_RETURN(bool more, pager.Advance(page->entries.size(), page->next));
    if (!more) return Status::Ok();
  }
}

}  // namespace converge

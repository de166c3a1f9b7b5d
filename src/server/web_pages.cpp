#include "server/web_pages.h"

#include <algorithm>
#include <map>

#include "base/text.h"
#include "server/web_html.h"

namespace converge {

namespace {

std::string H(std::string_view s) {
  return HtmlEscape(s);
}

std::string RepoUrl(const std::string& repo) {
  return "/r/" + PercentEncode(repo);
}

std::string PathUrl(const std::vector<std::string>& path, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < path.size(); i++) out += "/" + PercentEncode(path[i]);
  return out;
}

std::string PubUrl(const std::string& repo, const std::string& id) {
  return RepoUrl(repo) + "/p/" + PercentEncode(id);
}

std::string Link(const std::string& url, std::string_view text) {
  return "<a href=\"" + H(url) + "\">" + H(text) + "</a>";
}

std::string Row(std::initializer_list<std::string> cells) {
  std::string out = "<tr>";
  for (const std::string& c : cells) out += "<td>" + c + "</td>";
  return out + "</tr>";
}

std::string FilterQuery(const PublicationQuery& f) {
  std::string q;
  auto add = [&](const char* k, const std::optional<std::string>& v) {
    if (v && !v->empty()) q += std::string(q.empty() ? "?" : "&") + k + "=" + PercentEncode(*v);
  };
  add("scope", f.scope);
  add("lane", f.lane);
  add("gate", f.gate);
  return q;
}

std::string Select(const char* name, const std::vector<std::string>& options,
                   const std::optional<std::string>& chosen) {
  std::string out = "<label>" + std::string(name) + " <select name=\"" + name +
                    "\"><option value=\"\">any</option>";
  for (const std::string& o : options)
    out += "<option value=\"" + H(o) + "\"" + (chosen && *chosen == o ? " selected" : "") + ">" +
           H(o) + "</option>";
  return out + "</select></label>";
}

std::string Members(const wire::RepoDetails& d) {
  std::string out = "<h2>Members</h2><table><tr><th>user</th><th>role</th></tr>";
  for (const wire::Member& m : d.members) out += Row({H(m.handle), H(m.role)});
  return out + "</table>";
}

// Each gate's column: the longest chain of upstream gates before it (a
// gate graph has no cycles; a bound keeps a bad one from looping).
std::map<std::string, int> GateColumns(const wire::GateGraph& g) {
  std::map<std::string, int> col;
  for (const wire::Gate& gate : g.gates) col[gate.id] = 0;
  for (size_t round = 0; round < g.gates.size(); round++) {
    bool moved = false;
    for (const wire::Gate& gate : g.gates)
      for (const std::string& up : gate.upstream)
        if (col.count(up) && col[gate.id] < col[up] + 1) col[gate.id] = col[up] + 1, moved = true;
    if (!moved) break;
  }
  return col;
}

}  // namespace

std::string GateGraphSvg(const wire::GateGraph& g) {
  constexpr int kW = 150, kH = 34, kGapX = 50, kGapY = 16, kPad = 8;
  std::map<std::string, int> col = GateColumns(g);
  std::map<std::string, std::pair<int, int>> at;  // gate -> (x, y)
  std::map<int, int> rows;
  int width = 0, height = 0;
  for (const wire::Gate& gate : g.gates) {
    int c = col[gate.id], r = rows[c]++;
    int x = kPad + c * (kW + kGapX), y = kPad + r * (kH + kGapY);
    at[gate.id] = {x, y};
    width = std::max(width, x + kW + kPad);
    height = std::max(height, y + kH + kPad);
  }
  std::string out =
      "<svg class=\"gates\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
      "aria-label=\"gate graph\" width=\"" +
      std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
      std::to_string(width) + " " + std::to_string(height) +
      "\"><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
      "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 "
      "L0,10 z\" fill=\"#57606a\"/></marker></defs>";
  for (const wire::Gate& gate : g.gates)
    for (const std::string& up : gate.upstream) {
      if (!at.count(up)) continue;
      auto [x1, y1] = at[up];
      auto [x2, y2] = at[gate.id];
      out += "<line x1=\"" + std::to_string(x1 + kW) + "\" y1=\"" + std::to_string(y1 + kH / 2) +
             "\" x2=\"" + std::to_string(x2) + "\" y2=\"" + std::to_string(y2 + kH / 2) +
             "\" stroke=\"#57606a\" marker-end=\"url(#arrow)\"/>";
    }
  for (const wire::Gate& gate : g.gates) {
    auto [x, y] = at[gate.id];
    std::string label = gate.id.size() > 20 ? gate.id.substr(0, 19) + "…" : gate.id;
    out += "<g><title>" + H(gate.id) + (gate.description ? ": " + H(*gate.description) : "") +
           "</title><rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) +
           "\" width=\"" + std::to_string(kW) + "\" height=\"" + std::to_string(kH) +
           "\" rx=\"6\" fill=\"#f6f8fa\" stroke=\"#0969da\"/><text x=\"" +
           std::to_string(x + kW / 2) + "\" y=\"" + std::to_string(y + kH / 2 + 5) +
           "\" text-anchor=\"middle\" font-size=\"13\" fill=\"#1f2328\">" + H(label) +
           "</text></g>";
  }
  return out + "</svg>";
}

namespace {

std::string LanesAndScopes(const wire::RepoDetails& d) {
  std::string out = "<h2>Scopes</h2><table><tr><th>scope</th><th>created</th></tr>";
  for (const wire::Scope& s : d.scopes) out += Row({H(s.name), H(s.created_at)});
  out += "</table><h2>Lanes</h2><table><tr><th>lane</th><th>members</th></tr>";
  for (const wire::Lane& l : d.lanes) {
    std::string members;
    for (const std::string& m : l.members) members += (members.empty() ? "" : ", ") + H(m);
    out += Row({H(l.name), members});
  }
  out += "</table><h2>Gates</h2>" + GateGraphSvg(d.gate_graph) +
         "<table><tr><th>gate</th><th>upstream</th><th>about</th></tr>";
  for (const wire::Gate& g : d.gate_graph.gates) {
    std::string up;
    for (const std::string& u : g.upstream) up += (up.empty() ? "" : ", ") + H(u);
    out += Row({H(g.id), up, H(g.description.value_or(""))});
  }
  return out + "</table>";
}

std::string PublicationsTable(const wire::RepoDetails& d, const wire::PublicationPage& page,
                              const PublicationQuery& f) {
  std::vector<std::string> scopes, lanes, gates;
  for (const wire::Scope& s : d.scopes) scopes.push_back(s.name);
  for (const wire::Lane& l : d.lanes) lanes.push_back(l.name);
  for (const wire::Gate& g : d.gate_graph.gates) gates.push_back(g.id);
  std::string out = "<h2>Publications</h2><form class=\"filters\" method=\"get\" action=\"" +
                    H(RepoUrl(d.repo.name)) + "\">" + Select("scope", scopes, f.scope) +
                    Select("lane", lanes, f.lane) + Select("gate", gates, f.gate) +
                    "<button type=\"submit\">Filter</button></form>";
  out +=
      "<table><tr><th>publication</th><th>when</th><th>by</th><th>scope</th><th>lane</th>"
      "<th>gate</th><th>note</th></tr>";
  for (const wire::Publication& p : page.publications)
    out += Row({Link(PubUrl(d.repo.name, p.id), p.id.substr(0, 12)), H(p.created_at),
                H(p.publisher), H(p.scope), H(p.lane), H(p.gate), H(p.note)});
  out += "</table>";
  if (page.publications.empty()) out += "<p class=\"muted\">No publications match.</p>";
  if (page.next) {
    std::string q = FilterQuery(f);
    out += "<p>" +
           Link(RepoUrl(d.repo.name) + q + (q.empty() ? "?" : "&") +
                    "before=" + PercentEncode(*page.next),
                "Older publications") +
           "</p>";
  }
  return out;
}

std::string Provenance(const wire::Publication& p, const Snap& snap) {
  auto item = [](const char* k, const std::string& v) {
    return "<dt>" + std::string(k) + "</dt><dd>" + v + "</dd>";
  };
  return "<dl>" + item("id", "<code>" + H(p.id) + "</code>") + item("publisher", H(p.publisher)) +
         item("time", H(p.created_at)) + item("workspace", H(p.workspace_id)) +
         item("host", H(p.host)) + item("client", H(p.client_version)) + item("scope", H(p.scope)) +
         item("lane", H(p.lane)) + item("gate", H(p.gate)) + item("note", H(p.note)) +
         item("snap", "<code>" + H(p.snap) + "</code>") +
         item("snap message", "<pre>" + HtmlEscape(snap.message, true) + "</pre>") + "</dl>";
}

std::string Breadcrumbs(const std::string& repo, const WebTreeNode& node) {
  std::string base = PubUrl(repo, node.publication.id);
  std::string out = "<p>" + Link(base, "/");
  for (size_t i = 0; i < node.path.size(); i++)
    out += (i ? " / " : " ") + Link(base + PathUrl(node.path, i + 1), node.path[i]);
  return out + "</p>";
}

// Page `page` (from 1) of a directory's entries, with "previous" and "next".
std::string DirListing(const std::string& repo, const WebTreeNode& node, size_t page) {
  std::string base = PubUrl(repo, node.publication.id) + PathUrl(node.path, node.path.size());
  const std::vector<Entry>& all = node.dir.entries;
  size_t first = std::min(all.size(), (page - 1) * kWebDirPageEntries);
  size_t last = std::min(all.size(), first + kWebDirPageEntries);
  std::string pager;
  if (all.size() > kWebDirPageEntries) {
    pager = "<p class=\"pager\">entries " + std::to_string(first + 1) + "–" +
            std::to_string(last) + " of " + std::to_string(all.size());
    if (page > 1) pager += " · " + Link(base + "?page=" + std::to_string(page - 1), "previous");
    if (last < all.size())
      pager += " · " + Link(base + "?page=" + std::to_string(page + 1), "next");
    pager += "</p>";
  }
  std::string out = pager + "<table><tr><th>name</th><th>size</th><th>mode</th></tr>";
  for (size_t i = first; i < last; i++) {
    const Entry& e = all[i];
    std::string url = base + "/" + PercentEncode(e.name);
    if (e.type == EntryType::kDir)
      out += Row({Link(url, e.name + "/"), "", "dir"});
    else if (e.type == EntryType::kSymlink)
      out += Row({H(e.name) + " → " + H(e.target), "", "symlink"});
    else
      out += Row({Link(url, e.name), std::to_string(e.size), e.executable ? "exec" : ""});
  }
  out += "</table>" + pager;
  if (all.empty()) out += "<p class=\"muted\">Empty directory.</p>";
  return out;
}

}  // namespace

std::string SignInBody(const std::string& csrf, const std::string& error) {
  std::string out = "<h1>Sign in</h1>";
  if (!error.empty()) out += "<p class=\"error\">" + H(error) + "</p>";
  out +=
      "<form method=\"post\" action=\"/signin\"><input type=\"hidden\" name=\"csrf\" value=\"" +
      H(csrf) +
      "\"><label for=\"token\">Token</label><input id=\"token\" name=\"token\" type=\"password\" "
      "autocomplete=\"off\" required size=\"40\"> <button type=\"submit\">Sign in</button></form>"
      "<p class=\"muted\">Paste a converge token (<code>converge token create --label web</code> "
      "makes one). The browser keeps only a session cookie, never the token.</p>";
  return out;
}

std::string StatusBody(const std::string& title, const std::string& message) {
  return "<h1>" + H(title) + "</h1><p>" + H(message) + "</p><p>" + Link("/", "Your repos") + "</p>";
}

std::string RepoListBody(const std::vector<wire::Repo>& repos) {
  std::string out = "<h1>Repos</h1><table><tr><th>repo</th><th>your role</th><th>created</th></tr>";
  for (const wire::Repo& r : repos)
    out += Row({Link(RepoUrl(r.name), r.name), H(r.role), H(r.created_at)});
  out += "</table>";
  if (repos.empty()) out += "<p class=\"muted\">You may read no repo yet.</p>";
  return out;
}

std::string RepoBody(const wire::RepoDetails& d, const wire::PublicationPage& page,
                     const PublicationQuery& filter) {
  return "<h1>" + H(d.repo.name) + "</h1><p class=\"muted\">your role: " + H(d.repo.role) +
         "; created " + H(d.repo.created_at) + " by " + H(d.repo.created_by) +
         (d.repo.role == "admin" ? " · " + Link(RepoUrl(d.repo.name) + "/audit", "audit log")
                                 : "") +
         "</p>" + PublicationsTable(d, page, filter) + LanesAndScopes(d) + Members(d);
}

std::string PublicationBody(const std::string& repo, const WebTreeNode& node,
                            const std::optional<std::string>& text, const std::string& why,
                            size_t dir_page) {
  const wire::Publication& p = node.publication;
  std::string out = "<h1>" + Link(RepoUrl(repo), repo) + " · publication " + H(p.id.substr(0, 12)) +
                    "</h1>" + Provenance(p, node.snap) + "<h2>Tree</h2>" + Breadcrumbs(repo, node);
  if (node.is_dir) return out + DirListing(repo, node, std::max<size_t>(dir_page, 1));
  const Entry& e = node.file;
  std::string raw =
      RepoUrl(repo) + "/raw/" + PercentEncode(p.id) + PathUrl(node.path, node.path.size());
  out += "<p>" + std::to_string(e.size) + " bytes" + (e.executable ? ", executable" : "") + " · " +
         Link(raw, "Download") + "</p>";
  if (text) return out + "<pre>" + HtmlEscape(*text, true) + "</pre>";
  return out + "<p class=\"muted\">" + H(why) + "</p>";
}

}  // namespace converge

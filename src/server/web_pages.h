// The web view's pages, rendered from what the services answered (no
// database, no authority): each returns the HTML of a page's body for
// WebPage (server/web_html.h), every string in it escaped.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/wire.h"
#include "server/publications.h"
#include "server/web_tree.h"

namespace converge {

// Files up to this size are shown as text on their page; larger ones are
// only downloadable.
inline constexpr uint64_t kWebTextCap = 512 * 1024;
// A download up to this size is re-hashed before its answer starts (reading
// it twice): a damaged file is then an error page, not a 200 cut short.
inline constexpr uint64_t kWebVerifyFirst = 64ull << 20;
// A directory's page lists at most this many entries (?page=N, from 1).
inline constexpr size_t kWebDirPageEntries = 500;

// The gate graph drawn as inline SVG (no script, no styles: attributes
// only): each gate a box in the column of its longest upstream chain, an
// arrow from each upstream gate; every name escaped.
std::string GateGraphSvg(const wire::GateGraph& g);

std::string SignInBody(const std::string& csrf, const std::string& error);
std::string StatusBody(const std::string& title, const std::string& message);
std::string RepoListBody(const std::vector<wire::Repo>& repos);
// A repo with one page of its publications (`filter` as asked).
std::string RepoBody(const wire::RepoDetails& repo, const wire::PublicationPage& page,
                     const PublicationQuery& filter);
// A publication at a directory (its page `dir_page` of kWebDirPageEntries
// entries, from 1, with links to the pages before and after it), or at a
// file with its text (nullopt: not shown, `why` says why). Only the page's
// entries are rendered, however large the directory.
std::string PublicationBody(const std::string& repo, const WebTreeNode& node,
                            const std::optional<std::string>& text, const std::string& why,
                            size_t dir_page = 1);

}  // namespace converge

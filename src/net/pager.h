// Following a paged listing (docs/api.md: ?before=CURSOR, "next") to its end
// without trusting the server to have one. A hostile or broken server could
// send cursors that cycle ("2", "1", "2", ...) or never run out, and keep the
// client requesting and holding pages forever; a Pager refuses, with an
// error naming the listing, a cursor it has seen before in this listing, an
// empty or oversized cursor, and a listing past its limits on pages, items
// and answer bytes. Several listings made for one command (one per lane) can
// share one Pager and so one budget.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>

#include "base/status.h"
#include "net/http_client.h"

namespace converge {

class Pager {
 public:
  struct Limits {
    uint64_t pages = 10'000;      // 10 million rows at the API's largest page
    uint64_t items = 1'000'000;   // publications or audit rows held at once
    uint64_t bytes = 512u << 20;  // of JSON answers, summed
  };
  static constexpr size_t kMaxCursorBytes = 1024;

  // `what` names the listing in errors ("the publications of repo 'web'").
  Pager(const HttpClient& http, std::string what, Limits limits);
  Pager(const HttpClient& http, std::string what) : Pager(http, std::move(what), Limits{}) {}

  // The cursor to send as ?before= ("" for a listing's first page).
  const std::string& cursor() const { return cursor_; }

  // Counts a page of `items` that names `next`. True: request the page at
  // cursor(); false: this listing is complete (no next, or an empty page).
  Result<bool> Advance(size_t items, const std::optional<std::string>& next);

  // Counts a page after which the listing stops, whatever it names (the
  // newest page of each lane, say).
  Status AdvanceLast(size_t items);

  // Starts another listing (say, of another lane) on the same budget, at
  // cursor `first` ("": the newest entries); an error when the budget's pages
  // are spent.
  Status Restart(std::string first = "");

 private:
  Status Tally(size_t items);  // a page of `items` against the limits
  Status TooMany(const std::string& what) const;
  Status TooManyPages() const;

  const HttpClient& http_;
  std::string what_;
  Limits limits_;
  uint64_t first_bytes_;
  uint64_t pages_ = 0, items_ = 0;
  std::string cursor_;
  std::unordered_set<std::string> seen_;  // this listing's cursors
};

}  // namespace converge

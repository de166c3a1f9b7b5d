// What a collection keeps (store/gc.h): the live set, the walk from roots,
// and the grace period's spelling.
#include <algorithm>
#include <cctype>
#include <ctime>

#include "store/gc.h"
#include "store/object_refs.h"

namespace converge {

void LiveSet::Seal() {
  std::sort(ids_.begin(), ids_.end());
  ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
  ids_.shrink_to_fit();
}

bool LiveSet::Contains(const ObjectId& id) const {
  return std::binary_search(ids_.begin(), ids_.end(), id);
}

Status LiveWalk::Add(ObjectKind kind, const ObjectId& id, const std::string& label) {
  std::vector<ObjectRef> stack = {{kind, id}};
  while (!stack.empty()) {
    ObjectRef r = stack.back();
    stack.pop_back();
    if (r.kind == ObjectKind::kBlob) {
      live_.Add(r.id);
      continue;
    }
    if (!seen_.insert(r.id).second) continue;
    live_.Add(r.id);
    auto explain = [&](const Status& s) {
      return s.With(Describe(r.kind, r.id) + (r.id == id ? "" : ", under " + label) +
                    ": gc cannot tell what is under it");
    };
    Result<std::string> bytes = store_.Read(r.id);
    if (!bytes.ok()) return explain(bytes.status());
    read_++;
    Result<std::vector<ObjectRef>> refs = ReferencesOf(r.kind, *bytes);
    if (!refs.ok()) return explain(refs.status());
    stack.insert(stack.end(), refs->begin(), refs->end());
  }
  return Status::Ok();
}

int64_t GcCutoff(int64_t grace_seconds) {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  return (int64_t{now.tv_sec} - grace_seconds) * 1000000000 + now.tv_nsec;
}

Result<int64_t> ParseGrace(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) digits++;
  std::string unit = text.substr(digits);
  int64_t scale = unit.empty() || unit == "s" ? 1
                  : unit == "m"               ? 60
                  : unit == "h"               ? 3600
                  : unit == "d"               ? 86400
                                              : 0;
  if (digits == 0 || digits > 9 || scale == 0)
    return Invalid("grace period " + text +
                   ": write a whole number of seconds, or of minutes, hours or days with m, h "
                   "or d after it (90, 30m, 2h, 14d)");
  return std::stoll(text.substr(0, digits)) * scale;
}

}  // namespace converge

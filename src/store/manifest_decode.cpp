// DecodeManifest (store/manifest_decode.h): reads the canonical bytes directly instead of through a
// JSON document. Manifests are decoded on every hop (the server's check of a
// publish, fetch, diff, restore), and the canonical form leaves exactly one
// spelling to accept, so the parser just follows it: keys in their fixed
// order, no whitespace, strings escaped as EncodeManifest escapes them.
// A unit test holds it to an nlohmann-based reference on mutated inputs.
#include "store/manifest_decode.h"

#include "base/text.h"
#include "store/objects.h"

namespace converge {

namespace {

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  bool AtEnd() const { return pos_ == s_.size(); }
  size_t pos() const { return pos_; }

  bool Eat(std::string_view literal) {
    if (s_.substr(pos_, literal.size()) != literal) return false;
    pos_ += literal.size();
    return true;
  }

  // 64 lowercase hex digits, the way every ID is written.
  bool Id(ObjectId* id) {
    if (s_.size() - pos_ < 64) return false;
    std::optional<ObjectId> got = ObjectId::FromHex(s_.substr(pos_, 64));
    if (!got) return false;
    *id = *got;
    pos_ += 64;
    return true;
  }

  // Canonical decimal: "0" or no leading zero, and it fits in 64 bits.
  bool Uint(uint64_t* v) {
    size_t start = pos_;
    uint64_t n = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      uint64_t digit = static_cast<uint64_t>(s_[pos_] - '0');
      if (n > (UINT64_MAX - digit) / 10) return false;
      n = n * 10 + digit;
      pos_++;
    }
    if (pos_ == start || (s_[start] == '0' && pos_ - start > 1)) return false;
    *v = n;
    return true;
  }

  // A JSON string as AppendJsonString writes it: the short escapes where JSON
  // has one, \u00xx (lowercase) for the other control characters, every
  // other byte as is. Any other spelling of the same text is refused.
  bool String(std::string* out) {
    if (!Eat("\"")) return false;
    out->clear();
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return false;
      switch (s_[pos_++]) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          int v = ControlEscape();
          if (v < 0) return false;
          out->push_back(static_cast<char>(v));
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

 private:
  // The "00xx" after \u, for a control character without a short escape.
  int ControlEscape() {
    if (s_.size() - pos_ < 4 || s_.substr(pos_, 2) != "00") return -1;
    auto hex = [](char h) {
      return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
    };
    int hi = hex(s_[pos_ + 2]), lo = hex(s_[pos_ + 3]);
    if (hi < 0 || lo < 0) return -1;
    int v = hi * 16 + lo;
    if (v >= 0x20 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t') return -1;
    pos_ += 4;
    return v;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

Status NotCanonical(const Cursor& c) {
  return Corrupt("manifest is not in canonical form (sorted keys, no whitespace) at byte " +
                 std::to_string(c.pos()));
}

// One entry, from its '{' to its '}'; false when the bytes are not canonical.
bool ParseEntry(Cursor& c, Entry* e) {
  *e = Entry{};
  if (!c.Eat("{")) return false;
  bool blob = c.Eat("\"blob\":\"");
  if (blob || c.Eat("\"chunks\":\"")) {
    e->type = EntryType::kFile;
    e->chunked = !blob;
    if (!c.Id(&e->id) || !c.Eat("\",\"executable\":")) return false;
    if (c.Eat("true")) {
      e->executable = true;
    } else if (!c.Eat("false")) {
      return false;
    }
    return c.Eat(",\"name\":") && c.String(&e->name) && c.Eat(",\"size\":") && c.Uint(&e->size) &&
           c.Eat(",\"type\":\"file\"}");
  }
  if (c.Eat("\"manifest\":\"")) {
    e->type = EntryType::kDir;
    return c.Id(&e->id) && c.Eat("\",\"name\":") && c.String(&e->name) &&
           c.Eat(",\"type\":\"dir\"}");
  }
  e->type = EntryType::kSymlink;
  return c.Eat("\"name\":") && c.String(&e->name) && c.Eat(",\"target\":") &&
         c.String(&e->target) && c.Eat(",\"type\":\"symlink\"}");
}

// What a well-formed entry may still get wrong.
Status CheckEntry(const Entry& e, const Entry* previous) {
  Status name = ValidateName(e.name);
  if (!name.ok()) return Corrupt(name.message());
  if (e.type == EntryType::kSymlink &&
      (e.target.empty() || e.target.find('\0') != std::string::npos))
    return Corrupt("symlink " + Quote(e.name) + " has an empty or NUL-bearing target");
  if (e.type == EntryType::kSymlink && !IsValidUtf8(e.target))
    return Corrupt("symlink " + Quote(e.name) + " has a target that is not valid UTF-8");
  if (previous && !(previous->name < e.name)) {
    if (previous->name == e.name)
      return Corrupt("duplicate name " + Quote(e.name) + " in a manifest");
    return Corrupt("manifest entries are not sorted by name at " + Quote(e.name));
  }
  return Status::Ok();
}

}  // namespace

Result<Manifest> DecodeManifest(std::string_view bytes) {
  Cursor c(bytes);
  if (!c.Eat("{\"entries\":[")) return NotCanonical(c);
  Manifest m;
  if (!c.Eat("]")) {
    do {
      Entry e;
      if (!ParseEntry(c, &e)) return NotCanonical(c);
      RETURN_IF_ERROR(CheckEntry(e, m.entries.empty() ? nullptr : &m.entries.back()));
      m.entries.push_back(std::move(e));
    } while (c.Eat(","));
    if (!c.Eat("]")) return NotCanonical(c);
  }
  if (!c.Eat(",\"version\":")) return NotCanonical(c);
  if (!c.Eat("1}")) return Corrupt("manifest has no \"version\": 1");
  if (!c.AtEnd()) return NotCanonical(c);
  return m;
}

}  // namespace converge

#include "store/objects.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/text.h"

namespace converge {

using json = nlohmann::json;

namespace {

constexpr int kVersion = 1;
// A manifest is {"entries":[{...}],"version":1}: three levels deep at most.
constexpr int kMaxDepth = 4;

Result<json> ParseObject(std::string_view bytes, const char* what) {
  ASSIGN_OR_RETURN(json j, ParseJson(bytes, kMaxDepth));
  if (!j.is_object()) return Corrupt(std::string(what) + " is not a JSON object");
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_unsigned() || v->get<uint64_t>() != kVersion)
    return Corrupt(std::string(what) + " has no \"version\": 1");
  return j;
}

// Fails unless `j` has exactly the keys in `keys`.
Status ExactKeys(const json& j, std::initializer_list<const char*> keys, const char* what) {
  if (j.size() != keys.size())
    return Corrupt(std::string(what) + " has " + std::to_string(j.size()) + " fields, expected " +
                   std::to_string(keys.size()));
  for (const char* k : keys)
    if (!j.contains(k)) return Corrupt(std::string(what) + " lacks field \"" + k + "\"");
  return Status::Ok();
}

Result<ObjectId> IdField(const json& j, const char* key, const char* what) {
  const json& v = j.at(key);
  if (!v.is_string()) return Corrupt(std::string(what) + ": \"" + key + "\" is not an ID");
  auto id = ObjectId::FromHex(v.get_ref<const std::string&>());
  if (!id) return Corrupt(std::string(what) + ": \"" + key + "\" is not a 64-hex-digit ID");
  return *id;
}

Result<std::string> StringField(const json& j, const char* key, const char* what) {
  const json& v = j.at(key);
  if (!v.is_string()) return Corrupt(std::string(what) + ": \"" + key + "\" is not a string");
  return v.get<std::string>();
}

Result<uint64_t> SizeField(const json& j, const char* key, const char* what) {
  const json& v = j.at(key);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    return Corrupt(std::string(what) + ": \"" + key + "\" is not a size");
  return v.get<uint64_t>();
}

// "YYYY-MM-DDTHH:MM:SS[.fraction]Z": RFC 3339 in UTC, as docs/objects.md
// fixes a snap's created_at (a leap second, :60, is allowed as RFC 3339 does).
bool IsRfc3339Utc(std::string_view t) {
  auto digits = [&](size_t at, size_t n, int lo, int hi) {
    if (at + n > t.size()) return -1;
    int v = 0;
    for (size_t i = at; i < at + n; i++) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v >= lo && v <= hi ? v : -1;
  };
  auto at = [&](size_t i, char c) { return i < t.size() && t[i] == c; };
  int year = digits(0, 4, 0, 9999), month = digits(5, 2, 1, 12);
  if (year < 0 || month < 0 || !at(4, '-') || !at(7, '-') || !at(10, 'T') || !at(13, ':') ||
      !at(16, ':'))
    return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  int last = month == 2 && !leap ? 28 : kDays[month - 1];
  if (digits(8, 2, 1, last) < 0 || digits(11, 2, 0, 23) < 0 || digits(14, 2, 0, 59) < 0 ||
      digits(17, 2, 0, 60) < 0)
    return false;
  size_t i = 19;
  if (at(i, '.')) {
    size_t start = ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') i++;
    if (i == start) return false;
  }
  return i + 1 == t.size() && t[i] == 'Z';
}

// Canonical bytes must round-trip exactly; anything else has a second spelling.
Status CheckCanonical(std::string_view bytes, const std::string& reencoded, const char* what) {
  if (bytes != reencoded)
    return Corrupt(std::string(what) + " is not in canonical form (sorted keys, no whitespace)");
  return Status::Ok();
}

// Appends an entry as its canonical JSON object: keys sorted, as
// nlohmann's std::map-ordered dump() would write them (a unit test holds the
// two to the same bytes). Built by hand because manifests are the hottest
// objects: every snap encodes one per directory.
void AppendEntry(std::string& out, const Entry& e) {
  out += "{";
  switch (e.type) {
    case EntryType::kFile:
      out += e.chunked ? "\"chunks\":\"" : "\"blob\":\"";
      out += e.id.hex();
      out +=
          e.executable ? "\",\"executable\":true,\"name\":" : "\",\"executable\":false,\"name\":";
      AppendJsonString(out, e.name);
      out += ",\"size\":" + std::to_string(e.size) + ",\"type\":\"file\"}";
      break;
    case EntryType::kDir:
      out += "\"manifest\":\"" + e.id.hex() + "\",\"name\":";
      AppendJsonString(out, e.name);
      out += ",\"type\":\"dir\"}";
      break;
    case EntryType::kSymlink:
      out += "\"name\":";
      AppendJsonString(out, e.name);
      out += ",\"target\":";
      AppendJsonString(out, e.target);
      out += ",\"type\":\"symlink\"}";
      break;
  }
}

}  // namespace

const char* KindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kBlob:
      return "blob";
    case ObjectKind::kManifest:
      return "manifest";
    case ObjectKind::kSnap:
      return "snap";
    case ObjectKind::kChunkList:
      return "chunklist";
  }
  return "?";
}

std::optional<ObjectKind> KindFromName(std::string_view name) {
  for (ObjectKind k :
       {ObjectKind::kBlob, ObjectKind::kManifest, ObjectKind::kSnap, ObjectKind::kChunkList})
    if (name == KindName(k)) return k;
  return std::nullopt;
}

std::string Describe(ObjectKind kind, const ObjectId& id) {
  return std::string(KindName(kind)) + " " + id.hex();
}

Status ValidateName(std::string_view name) {
  if (name.empty()) return Invalid("empty name in a manifest");
  if (name == "." || name == "..") return Invalid("name " + Quote(name) + " is not allowed");
  if (name.find('/') != std::string_view::npos)
    return Invalid("name " + Quote(name) + " contains '/'");
  if (name.find('\0') != std::string_view::npos)
    return Invalid("name " + Quote(name) + " contains a NUL byte");
  if (!IsValidUtf8(name)) return Invalid("name " + Quote(name) + " is not valid UTF-8");
  if (IsReservedName(name))
    return Invalid("name " + Quote(name) +
                   " is reserved for a workspace's own directory: no snap may hold it");
  return Status::Ok();
}

bool IsReservedName(std::string_view name) {
  constexpr std::string_view kReserved = ".converge";
  if (name.size() != kReserved.size()) return false;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kReserved[i]) return false;
  }
  return true;
}

Status NormalizeManifest(Manifest& m) {
  for (const Entry& e : m.entries) RETURN_IF_ERROR(ValidateName(e.name));
  std::sort(m.entries.begin(), m.entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  for (size_t i = 1; i < m.entries.size(); i++)
    if (m.entries[i].name == m.entries[i - 1].name)
      return Invalid("duplicate name " + Quote(m.entries[i].name) + " in a manifest");
  return Status::Ok();
}

std::string EncodeManifest(const Manifest& m) {
  std::string out = "{\"entries\":[";
  out.reserve(m.entries.size() * 160);
  for (size_t i = 0; i < m.entries.size(); i++) {
    if (i > 0) out += ',';
    AppendEntry(out, m.entries[i]);
  }
  out += "],\"version\":" + std::to_string(kVersion) + "}";
  return out;
}

// DecodeManifest is in manifest_decode.cpp.

std::string EncodeSnap(const Snap& s) {
  json j;
  j["created_at"] = s.created_at;
  j["message"] = s.message;
  j["parent"] = s.parent ? json(s.parent->hex()) : json(nullptr);
  j["root"] = s.root.hex();
  j["version"] = kVersion;
  j["workspace_id"] = s.workspace_id;
  return j.dump();
}

Result<Snap> DecodeSnap(std::string_view bytes) {
  const char* what = "snap";
  ASSIGN_OR_RETURN(json j, ParseObject(bytes, what));
  RETURN_IF_ERROR(
      ExactKeys(j, {"created_at", "message", "parent", "root", "version", "workspace_id"}, what));
  Snap s;
  ASSIGN_OR_RETURN(s.root, IdField(j, "root", what));
  ASSIGN_OR_RETURN(s.created_at, StringField(j, "created_at", what));
  if (!IsRfc3339Utc(s.created_at))
    return Corrupt("snap: \"created_at\" " + Quote(s.created_at.substr(0, 80)) +
                   " is not an RFC 3339 UTC time like 2026-11-25T10:00:00Z");
  ASSIGN_OR_RETURN(s.message, StringField(j, "message", what));
  ASSIGN_OR_RETURN(s.workspace_id, StringField(j, "workspace_id", what));
  if (!j["parent"].is_null()) {
    ASSIGN_OR_RETURN(ObjectId parent, IdField(j, "parent", what));
    s.parent = parent;
  }
  RETURN_IF_ERROR(CheckCanonical(bytes, EncodeSnap(s), what));
  return s;
}

std::string EncodeChunkList(const ChunkList& c) {
  json chunks = json::array();
  for (const auto& ch : c.chunks) chunks.push_back({{"blob", ch.blob.hex()}, {"size", ch.size}});
  json j;
  j["chunks"] = std::move(chunks);
  j["size"] = c.size;
  j["version"] = kVersion;
  return j.dump();
}

Result<ChunkList> DecodeChunkList(std::string_view bytes) {
  const char* what = "chunk list";
  ASSIGN_OR_RETURN(json j, ParseObject(bytes, what));
  RETURN_IF_ERROR(ExactKeys(j, {"chunks", "size", "version"}, what));
  if (!j["chunks"].is_array() || j["chunks"].empty()) return Corrupt("chunk list has no chunks");
  ChunkList c;
  ASSIGN_OR_RETURN(c.size, SizeField(j, "size", what));
  uint64_t total = 0;
  for (const json& jc : j["chunks"]) {
    if (!jc.is_object()) return Corrupt("chunk list entry is not an object");
    RETURN_IF_ERROR(ExactKeys(jc, {"blob", "size"}, "chunk"));
    ChunkList::Chunk ch;
    ASSIGN_OR_RETURN(ch.blob, IdField(jc, "blob", "chunk"));
    ASSIGN_OR_RETURN(ch.size, SizeField(jc, "size", "chunk"));
    if (ch.size == 0) return Corrupt("chunk list has an empty chunk");
    // Checked so that no sum wraps around to `size`.
    if (ch.size > c.size - total)
      return Corrupt("chunk sizes add up to more than " + std::to_string(c.size));
    total += ch.size;
    c.chunks.push_back(ch);
  }
  if (total != c.size)
    return Corrupt("chunk sizes add up to " + std::to_string(total) + ", not " +
                   std::to_string(c.size));
  RETURN_IF_ERROR(CheckCanonical(bytes, EncodeChunkList(c), what));
  return c;
}

std::optional<ObjectRef> EntryRef(const Entry& e) {
  switch (e.type) {
    case EntryType::kDir:
      return ObjectRef{ObjectKind::kManifest, e.id};
    case EntryType::kFile:
      return ObjectRef{e.chunked ? ObjectKind::kChunkList : ObjectKind::kBlob, e.id};
    case EntryType::kSymlink:
      break;
  }
  return std::nullopt;
}

}  // namespace converge

#include "client/audit_trust.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/text.h"
#include "client/credentials.h"

namespace converge {

using json = nlohmann::json;

fs::path AuditPins::Path() {
  return Credentials::Path().parent_path() / "audit-keys.json";
}

Result<AuditPins> AuditPins::Load() {
  return Load(Path());
}

Result<AuditPins> AuditPins::Load(const fs::path& path) {
  AuditPins pins;
  pins.path_ = path;
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return pins;
    return text.status();
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077)) ::chmod(path.c_str(), 0600);
  Result<json> j = ParseJson(*text);
  if (!j.ok() || !j->is_object() || !j->contains("servers") || !(*j)["servers"].is_object())
    return Corrupt("audit key file " + Quote(path.string()) +
                   " is damaged: fix it, or remove it to trust each server's key afresh");
  for (const auto& [url, v] : (*j)["servers"].items()) {
    if (!v.is_object() || !v.contains("public_key") || !v["public_key"].is_string()) continue;
    AuditPin p;
    p.public_key = v["public_key"].get<std::string>();
    p.pinned_at = v.value("pinned_at", "");
    if (v.contains("verified_seq") && v["verified_seq"].is_number_integer())
      p.verified_seq = v["verified_seq"].get<int64_t>();
    p.verified_hash = v.value("verified_hash", "");
    p.verified_at = v.value("verified_at", "");
    pins.servers_[url] = std::move(p);
  }
  return pins;
}

Status AuditPins::Save() const {
  json servers = json::object();
  for (const auto& [url, p] : servers_) {
    json s = {{"public_key", p.public_key}, {"pinned_at", p.pinned_at}};
    if (p.verified_seq > 0) {
      s["verified_seq"] = p.verified_seq;
      s["verified_hash"] = p.verified_hash;
      s["verified_at"] = p.verified_at;
    }
    servers[url] = s;
  }
  RETURN_IF_ERROR(MakeDirs(path_.parent_path(), 0700));
  json j = {{"version", 1}, {"servers", servers}};
  return WriteFileAtomic(path_, j.dump(2) + "\n", 0600);
}

const AuditPin* AuditPins::Find(const std::string& url) const {
  auto it = servers_.find(NormalizeUrl(url));
  return it == servers_.end() ? nullptr : &it->second;
}

void AuditPins::Set(const std::string& url, const AuditPin& pin) {
  servers_[NormalizeUrl(url)] = pin;
}

Status RecordAuditVerification(AuditPins& pins, const std::string& url,
                               const std::string& trusted_hex, const wire::AuditHead& head,
                               bool ok) {
  const AuditPin* pin = pins.Find(url);
  bool same_key = pin && pin->public_key == trusted_hex;
  AuditPin updated = same_key ? *pin : AuditPin{trusted_hex, NowRfc3339(), 0, "", ""};
  if (ok) {
    updated.verified_seq = head.seq;
    updated.verified_hash = head.hash;
    updated.verified_at = NowRfc3339();
  }
  pins.Set(url, updated);
  return pins.Save();
}

}  // namespace converge

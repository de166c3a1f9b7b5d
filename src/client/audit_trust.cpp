#include "client/audit_trust.h"

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/text.h"
#include "client/credentials.h"
#include "client/private_json.h"

namespace converge {

using json = nlohmann::json;

fs::path AuditPins::Path() {
  return ClientConfigDir() / "audit-keys.json";
}

Result<AuditPins> AuditPins::Load() {
  return Load(Path());
}

Result<AuditPins> AuditPins::Load(const fs::path& path) {
  AuditPins pins;
  pins.path_ = path;
  Result<std::optional<json>> j = ReadPrivateJson(path);
  if (!j.ok() && j.status().code() != Code::kCorrupt) return j.status();
  if (j.ok() && !*j) return pins;
  if (!j.ok() || !(*j)->contains("servers") || !(**j)["servers"].is_object())
    return Corrupt("audit key file " + Quote(path.string()) +
                   " is damaged: fix it, or remove it to trust each server's key afresh");
  for (const auto& [url, v] : (**j)["servers"].items()) {
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
  return WritePrivateJson(path_, {{"version", 1}, {"servers", servers}});
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

Result<AuditPublicKey> ParseAuditKeyArg(const std::string& arg) {
  if (std::optional<AuditPublicKey> k = AuditPublicKey::FromHex(arg)) return *k;
  Result<std::string> text = ReadFile(arg);
  if (!text.ok())
    return Invalid("--key " + Quote(arg) +
                   " is neither 64 hex characters nor a readable file: " + text.status().message());
  std::optional<AuditPublicKey> k = AuditPublicKey::FromHex(*text);
  if (!k)
    return Invalid("--key file " + Quote(arg) +
                   " does not hold an Ed25519 public key (64 hex characters, like the "
                   "server's DATA/audit-key.pub)");
  return *k;
}

Result<AuditPublicKey> TrustAuditKey(const AuditPublicKey& served, const std::string& flag,
                                     const AuditPin* pin, const fs::path& pins_file,
                                     const std::function<void(const std::string&)>& note) {
  if (!flag.empty()) {
    ASSIGN_OR_RETURN(AuditPublicKey given, ParseAuditKeyArg(flag));
    if (!(given == served))
      return Permission("the server's audit key is " + served.Fingerprint() +
                        ", not the key you gave (" + given.Fingerprint() +
                        "): this is not the server you meant, or its key was replaced");
    return given;
  }
  if (!pin) {
    note("trusting this server's audit key " + served.Fingerprint() + " from now on (saved in " +
         pins_file.string() + ")");
    return served;
  }
  std::optional<AuditPublicKey> pinned = AuditPublicKey::FromHex(pin->public_key);
  if (!pinned)
    return Corrupt("the pinned audit key in " + Quote(pins_file.string()) +
                   " is damaged: fix it, or pass the server's key with --key");
  if (!(*pinned == served))
    return Permission("the server's audit key changed: " + pinned->Fingerprint() +
                      " was pinned on " + pin->pinned_at + ", the server now has " +
                      served.Fingerprint() +
                      "; if its operator replaced the key on purpose, get the new one from "
                      "them (DATA/audit-key.pub) and run 'converge audit --verify --key KEY', "
                      "otherwise treat the server and its log as tampered with");
  return *pinned;
}

Result<AuditVerdict> VerifyServerAuditLog(ApiClient& api, const AuditVerifyOptions& o) {
  const std::string what = "verify the whole audit log";
  Result<wire::AuditKeyInfo> info = api.AuditKey();
  if (!info.ok()) return ExplainFailure(info.status(), what, "");
  std::optional<AuditPublicKey> served = AuditPublicKey::FromHex(info->public_key);
  if (!served) return Corrupt("the server sent a malformed audit key: " + Quote(info->public_key));
  ASSIGN_OR_RETURN(AuditPins pins, AuditPins::Load(o.pins_file));
  const AuditPin* pin = pins.Find(api.url());
  ASSIGN_OR_RETURN(AuditPublicKey trusted, TrustAuditKey(*served, o.key, pin, o.pins_file, o.note));
  Result<wire::AuditHead> head = api.AuditHead();
  if (!head.ok()) return ExplainFailure(head.status(), what, "");
  // The newest row verified before counts only under the same key.
  std::optional<AuditCheckpoint> seen;
  if (pin && pin->public_key == trusted.hex() && pin->verified_seq > 0)
    seen = AuditCheckpoint{pin->verified_seq, pin->verified_hash};
  AuditChainVerifier check(*head, trusted, seen);
  RETURN_IF_ERROR(ReadAuditLogDown(api, head->seq, o.page_size,
                                   [&](const wire::AuditEntry& e) { check.Add(e); }));
  AuditVerdict verdict = check.Finish();
  RETURN_IF_ERROR(RecordAuditVerification(pins, api.url(), trusted.hex(), *head, verdict.ok()));
  return verdict;
}

}  // namespace converge

// e2e: the client's side of `converge audit --verify` (client/audit_trust.h,
// client/audit_log.h), called in-process against a real server: trust on
// first use, a changed key refused, and the whole log read across pages.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/random.h"
#include "client/audit_trust.h"
#include "server/audit_verify.h"
#include "support/server.h"

namespace converge::testing {
namespace {

const std::string kOtherKey(64, 'a');  // 32 bytes, not this server's key

class AuditTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    Api api(server_.port(), server_.admin_token());
    for (const char* handle : {"ann", "bob", "cy"}) api.CreateUser(handle);
    std::optional<AuditPublicKey> key =
        AuditPublicKey::FromHex(ReadFileOrDie(server_.data_dir() / "audit-key.pub"));
    ASSERT_TRUE(key);
    served_ = *key;
  }

  ApiClient Connect() {
    Result<ApiClient> api = ConnectWithToken(url_, server_.admin_token(), ServerFlags{});
    EXPECT_TRUE(api.ok()) << api.status().message();
    return std::move(*api);
  }
  Result<AuditVerdict> Verify(AuditVerifyOptions o = {}) {
    o.pins_file = pins_;
    o.note = [this](const std::string& line) { notes_.push_back(line); };
    ApiClient api = Connect();
    return VerifyServerAuditLog(api, o);
  }
  nlohmann::json Pin() { return nlohmann::json::parse(ReadFileOrDie(pins_))["servers"][url_]; }
  void PinOtherKey() {
    Result<AuditPins> pins = AuditPins::Load(pins_);
    ASSERT_TRUE(pins.ok());
    pins->Set(url_, AuditPin{kOtherKey, "2026-01-02T03:04:05Z", 0, "", ""});
    ASSERT_TRUE(pins->Save().ok());
  }

  ServerProcess server_;
  TempDir dir_;
  fs::path pins_ = dir_ / "audit-keys.json";
  std::string url_ = "http://127.0.0.1:" + std::to_string(server_.port());
  AuditPublicKey served_ = *AuditPublicKey::FromHex(kOtherKey);
  std::vector<std::string> notes_;
};

TEST_F(AuditTrustTest, FirstUseTrustsTheServersKeyAndPinsIt) {
  Result<AuditVerdict> v = Verify();
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->ok());
  ASSERT_EQ(notes_.size(), 1u);
  EXPECT_NE(notes_[0].find("trusting this server's audit key " + served_.Fingerprint()),
            std::string::npos)
      << notes_[0];
  EXPECT_NE(notes_[0].find(pins_.string()), std::string::npos) << notes_[0];
  nlohmann::json pin = Pin();
  EXPECT_EQ(pin["public_key"], served_.hex());
  EXPECT_EQ(pin["verified_seq"], v->head.seq);
  EXPECT_EQ(pin["verified_hash"], v->head.hash);

  // Later runs check against the pin, silently.
  Result<AuditVerdict> again = Verify();
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->ok());
  EXPECT_EQ(notes_.size(), 1u);
}

TEST_F(AuditTrustTest, AChangedKeyIsRefusedAndThePinKept) {
  PinOtherKey();
  Result<AuditVerdict> v = Verify();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kPermission);
  EXPECT_NE(v.status().message().find("the server's audit key changed"), std::string::npos)
      << v.status().message();
  EXPECT_NE(v.status().message().find(served_.Fingerprint()), std::string::npos);
  EXPECT_TRUE(notes_.empty());
  EXPECT_EQ(Pin()["public_key"], kOtherKey);

  // A key given by hand that is not the server's is refused too.
  AuditVerifyOptions given;
  given.key = kOtherKey;
  v = Verify(given);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kPermission);
  EXPECT_NE(v.status().message().find("not the key you gave"), std::string::npos);

  // The operator's key, given by hand, replaces the pin.
  given.key = served_.hex();
  v = Verify(given);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->ok());
  EXPECT_EQ(Pin()["public_key"], served_.hex());
}

TEST_F(AuditTrustTest, TheWholeLogIsReadAcrossPages) {
  AuditVerifyOptions small;
  small.page_size = 2;
  Result<AuditVerdict> v = Verify(small);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->ok()) << (v->problems.empty() ? "" : v->problems[0].message);
  ASSERT_GT(v->head.seq, 3 * small.page_size);
  EXPECT_EQ(v->rows_checked, v->head.seq);

  // Every row once, newest first, from the head down to row 1.
  ApiClient api = Connect();
  std::vector<int64_t> seqs;
  Status st = ReadAuditLogDown(api, v->head.seq, 2,
                               [&](const wire::AuditEntry& e) { seqs.push_back(e.seq); });
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(static_cast<int64_t>(seqs.size()), v->head.seq);
  for (size_t i = 0; i < seqs.size(); i++)
    EXPECT_EQ(seqs[i], v->head.seq - static_cast<int64_t>(i));

  // The newest entries, as `converge audit` lists them.
  Result<wire::AuditPage> newest = ReadAuditLog(api, "", 3);
  ASSERT_TRUE(newest.ok()) << newest.status().message();
  ASSERT_EQ(newest->entries.size(), 3u);
  EXPECT_EQ(newest->entries[0].seq, v->head.seq);
  EXPECT_TRUE(newest->next.has_value());
}

}  // namespace
}  // namespace converge::testing

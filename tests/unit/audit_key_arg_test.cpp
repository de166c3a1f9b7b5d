// The key a user gives `converge audit --verify --key` or `serve
// --verify-audit --audit-key` (client/audit_trust.h): hex, or a file of it.
#include <gtest/gtest.h>

#include "client/audit_trust.h"
#include "server/audit_key.h"
#include "support/process.h"

namespace converge {
namespace {

const std::string kHex(64, 'b');

TEST(AuditKeyArgTest, HexOrAFileHoldingIt) {
  Result<AuditPublicKey> k = ParseAuditKeyArg(kHex);
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->hex(), kHex);
  testing::TempDir tmp;
  testing::WriteFile(tmp / "audit-key.pub", kHex + "\n");
  Result<AuditPublicKey> from_file =
      ParseAuditKeyArg((tmp / "audit-key.pub").string());
  ASSERT_TRUE(from_file.ok()) << from_file.status().message();
  EXPECT_EQ(*from_file, *k);
}

TEST(AuditKeyArgTest, NeitherIsRefusedSayingWhat) {
  Result<AuditPublicKey> none = ParseAuditKeyArg("/no/such/key.pub");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kInvalid);
  EXPECT_NE(none.status().message().find("neither 64 hex characters nor a readable file"),
            std::string::npos)
      << none.status().message();
  testing::TempDir tmp;
  testing::WriteFile(tmp / "junk", "not a key\n");
  Result<AuditPublicKey> junk = ParseAuditKeyArg((tmp / "junk").string());
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.status().code(), Code::kInvalid);
  EXPECT_NE(junk.status().message().find("does not hold an Ed25519 public key"), std::string::npos)
      << junk.status().message();
}

TEST(AuditKeyArgTest, TrustOnFirstUseThenOnlyThePinnedKey) {
  AuditPublicKey served = *AuditPublicKey::FromHex(kHex);
  AuditPublicKey other = *AuditPublicKey::FromHex(std::string(64, 'c'));
  std::vector<std::string> notes;
  auto note = [&](const std::string& line) { notes.push_back(line); };
  Result<AuditPublicKey> first = TrustAuditKey(served, "", nullptr, "pins.json", note);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, served);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("saved in pins.json"), std::string::npos) << notes[0];

  AuditPin pin{other.hex(), "2026-01-02T03:04:05Z", 0, "", ""};
  Result<AuditPublicKey> changed = TrustAuditKey(served, "", &pin, "pins.json", note);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), Code::kPermission);
  EXPECT_NE(changed.status().message().find("was pinned on 2026-01-02T03:04:05Z"),
            std::string::npos);
  pin.public_key = "damaged";
  Result<AuditPublicKey> damaged = TrustAuditKey(served, "", &pin, "pins.json", note);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), Code::kCorrupt);
  // A key given by hand wins over the pin when it is the server's.
  Result<AuditPublicKey> given = TrustAuditKey(served, kHex, &pin, "pins.json", note);
  ASSERT_TRUE(given.ok()) << given.status().message();
  EXPECT_EQ(notes.size(), 1u);
}

}  // namespace
}  // namespace converge

// The authorization matrix, in-process: every service method that takes a
// repo, called by a caller with no role, read, publish, admin, and a server
// admin with no role of their own (docs/api.md, "Routes", column "who"). Each
// answer is either allowed or the exact refusal: a caller with no role gets
// the very answer (and audit row) a repo that does not exist gets; a reader
// asking for more gets kPermission. Refusals are audited under the action
// attempted; allowed state changes are audited as "ok", allowed reads not.
#include <functional>

#include "service_fixture.h"

namespace converge::testing {
namespace {

struct RepoCall {
  const char* name;    // for failure messages
  const char* action;  // the audit action it is logged under
  Role need;
  bool audited;  // whether an allowed call writes an "ok" row
  std::function<Status(const Caller&, const std::string& repo)> call;
};

template <class T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

class AuthzMatrixTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    if (HasFatalFailure()) return;
    owner_ = NewUser("owner");
    reader_ = NewUser("reader");
    publisher_ = NewUser("publisher");
    co_admin_ = NewUser("coadmin");
    stranger_ = NewUser("stranger");
    root_ = NewUser("root", /*server_admin=*/true);
    target_ = NewUser("target");
    NewRepo("web", owner_);
    Grant("web", reader_, "read");
    Grant("web", publisher_, "publish");
    Grant("web", co_admin_, "admin");
    Grant("web", target_, "read");
    for (const Caller* c : {&publisher_, &co_admin_})
      Must(registry().AddLaneMember(admin(), "web", "default", c->handle), "lane member");
    tree_ = MakeTree("matrix");
    Upload(owner_, "web", tree_.objects);
    published_ = Must(publications().Create(owner_, "web", PublishOf(tree_.snap()))).id;
  }

  std::vector<RepoCall> Calls() {
    const TestObject& blob = tree_.objects.front();
    wire::ObjectIdSet ids;
    ids.blobs.push_back(blob.id);
    std::string handle = target_.handle;
    return {
        {"GetRepo", "repo.read", Role::kRead, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().GetRepo(c, r));
         }},
        {"SetMember", "member.set", Role::kAdmin, true,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().SetMember(c, r, handle, "read"));
         }},
        {"ListLanes", "lane.list", Role::kRead, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().ListLanes(c, r));
         }},
        {"CreateLane", "lane.create", Role::kAdmin, true,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().CreateLane(c, r, "lane-" + c.handle));
         }},
        {"AddLaneMember", "lane.member.add", Role::kAdmin, true,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().AddLaneMember(c, r, "default", handle));
         }},
        {"RemoveLaneMember", "lane.member.remove", Role::kAdmin, true,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().RemoveLaneMember(c, r, "default", handle));
         }},
        {"ListScopes", "scope.list", Role::kRead, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().ListScopes(c, r));
         }},
        {"CreateScope", "scope.create", Role::kAdmin, true,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().CreateScope(c, r, "scope-" + c.handle));
         }},
        {"GetGateGraph", "gate_graph.read", Role::kRead, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().GetGateGraph(c, r));
         }},
        {"SetGateGraph", "gate_graph.set", Role::kAdmin, true,
         [=, this](const Caller& c, const std::string& r) {
           wire::GateGraph g{{{"dev-intake", {}, std::nullopt}}};
           return StatusOf(registry().SetGateGraph(c, r, g));
         }},
        {"Missing", "object.missing", Role::kPublish, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(objects().Missing(c, r, ids));
         }},
        {"Put", "object.upload", Role::kPublish, false,
         [=, this](const Caller& c, const std::string& r) {
           auto body = [&](const ObjectIntake::Sink& sink) { return sink(blob.bytes); };
           return StatusOf(objects().Put(c, r, blob.kind, blob.hex(), body));
         }},
        {"PutPack", "object.upload", Role::kPublish, false,
         [=, this](const Caller& c, const std::string& r) {
           std::string pack = PackOf(tree_.objects);
           auto body = [&](const ObjectIntake::Sink& sink) { return sink(pack); };
           return StatusOf(objects().PutPack(c, r, body));
         }},
        {"Locate", "object.read", Role::kRead, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(sender().Locate(c, r, blob.kind, blob.hex()));
         }},
        {"PlanFetch", "object.fetch", Role::kRead, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(sender().PlanFetch(c, r, ids));
         }},
        {"Publications::Create", "publication.create", Role::kPublish, true,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(publications().Create(c, r, PublishOf(tree_.snap())));
         }},
        {"Publications::List", "publication.list", Role::kRead, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(publications().List(c, r, PublicationQuery()));
         }},
        {"Publications::Get", "publication.read", Role::kRead, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(publications().Get(c, r, published_.substr(0, 8)));
         }},
        {"AuditLog::ListRepo", "audit.read", Role::kAdmin, false,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(audit().ListRepo(c, r, 10, std::nullopt));
         }},
        // Last: the calls above need the target to keep its role.
        {"RemoveMember", "member.remove", Role::kAdmin, true,
         [=, this](const Caller& c, const std::string& r) {
           return StatusOf(registry().RemoveMember(c, r, handle));
         }},
    };
  }

  int64_t HeadSeq() { return LastAudit().seq; }

  Caller owner_, reader_, publisher_, co_admin_, stranger_, root_, target_;
  TestTree tree_;
  std::string published_;
};

TEST_F(AuthzMatrixTest, EachRoleIsAllowedOrRefusedWithTheExactCodeAndAudited) {
  struct Who {
    const Caller* caller;
    Role role;
  };
  std::vector<Who> people = {{&stranger_, Role::kNone},     {&reader_, Role::kRead},
                             {&publisher_, Role::kPublish}, {&co_admin_, Role::kAdmin},
                             {&owner_, Role::kAdmin},       {&root_, Role::kAdmin}};
  for (const RepoCall& call : Calls()) {
    for (const Who& who : people) {
      SCOPED_TRACE(std::string(call.name) + " by " + who.caller->handle);
      int64_t before = HeadSeq();
      Status s = call.call(*who.caller, "web");
      wire::AuditEntry row = LastAudit();
      if (who.role >= call.need) {
        EXPECT_TRUE(s.ok()) << s.message();
        if (call.audited) {
          EXPECT_EQ(row.action, call.action);
          EXPECT_EQ(row.outcome, "ok");
          EXPECT_EQ(row.actor, who.caller->handle);
          EXPECT_EQ(row.repo, "web");
        } else {
          EXPECT_EQ(row.seq, before) << "an allowed read wrote " << row.action;
        }
        continue;
      }
      Code want = who.role == Role::kNone ? Code::kNotFound : Code::kPermission;
      EXPECT_TRUE(HasCode(s, want));
      EXPECT_EQ(row.seq, before + 1);
      EXPECT_EQ(row.action, call.action);
      EXPECT_EQ(row.outcome, std::string("refused: ") + CodeName(want));
      EXPECT_EQ(row.actor, who.caller->handle);
      if (want == Code::kPermission) {
        EXPECT_EQ(s.message().find("not found"), std::string::npos) << s.message();
      }
    }
  }
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(AuthzMatrixTest, NoRoleGetsTheAnswerAndAuditRowOfARepoThatDoesNotExist) {
  // Same length, so nothing about the answer depends on which name it is.
  for (const RepoCall& call : Calls()) {
    SCOPED_TRACE(call.name);
    Status hidden = call.call(stranger_, "web");
    wire::AuditEntry hidden_row = LastAudit();
    Status missing = call.call(stranger_, "bew");
    wire::AuditEntry missing_row = LastAudit();
    EXPECT_TRUE(HasCode(hidden, Code::kNotFound));
    EXPECT_EQ(hidden.code(), missing.code());
    EXPECT_EQ(hidden.message(), Replace(missing.message(), "bew", "web"));
    EXPECT_EQ(missing_row.seq, hidden_row.seq + 1);
    EXPECT_EQ(hidden_row.action, missing_row.action);
    EXPECT_EQ(hidden_row.outcome, missing_row.outcome);
    EXPECT_EQ(hidden_row.actor, missing_row.actor);
    EXPECT_EQ(hidden_row.detail, Replace(missing_row.detail, "bew", "web"));
    EXPECT_EQ(hidden_row.target, Replace(missing_row.target, "bew", "web"));
    // Even a repo admin of another repo learns nothing more.
    Status owner_missing = call.call(owner_, "bew");
    EXPECT_EQ(owner_missing.message(), missing.message());
  }
  EXPECT_TRUE(VerifyChain().ok());
}

TEST_F(AuthzMatrixTest, ANameNoRepoMayHaveIsNotFoundWithoutAnAuditRow) {
  for (const RepoCall& call : Calls()) {
    SCOPED_TRACE(call.name);
    int64_t before = HeadSeq();
    EXPECT_TRUE(HasCode(call.call(owner_, "../web"), Code::kNotFound));
    EXPECT_EQ(HeadSeq(), before);
  }
}

TEST_F(AuthzMatrixTest, OnlyServerAdminsCreateReposAndOthersGetOneAnswerWhateverTheName) {
  for (std::string name : {"web", "free-name", "../bad"}) {
    SCOPED_TRACE(name);
    wire::NewRepoRequest req{name, std::nullopt};
    Status s = registry().CreateRepo(owner_, req).status();
    EXPECT_TRUE(HasCode(s, Code::kPermission));
    EXPECT_EQ(s.message(),
              registry().CreateRepo(owner_, {"other", std::nullopt}).status().message());
    wire::AuditEntry row = LastAudit();
    EXPECT_EQ(row.action, "repo.create");
    EXPECT_EQ(row.outcome, "refused: forbidden");
  }
  EXPECT_TRUE(registry().CreateRepo(root_, {"rooted", std::nullopt}).ok());
}

}  // namespace
}  // namespace converge::testing

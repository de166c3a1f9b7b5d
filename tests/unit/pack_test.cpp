// The pack framing: any slicing of the input parses the same; bad framing,
// truncation and limits are clear errors.
#include <gtest/gtest.h>

#include "api/pack.h"

namespace converge {
namespace {

struct Collect : PackParser::Handler {
  std::vector<std::pair<ObjectId, std::string>> objects;
  Status Begin(ObjectKind, const ObjectId& id, uint64_t) override {
    objects.push_back({id, ""});
    return Status::Ok();
  }
  Status Data(std::string_view b) override {
    objects.back().second.append(b);
    return Status::Ok();
  }
  Status End() override { return Status::Ok(); }
};

std::string MakePack(const std::vector<std::string>& bodies) {
  std::string p(kPackMagic);
  for (const auto& b : bodies) p += PackObjectHeader(ObjectKind::kBlob, ObjectId::Of(b), b.size()) + b;
  return p + std::string(kPackEnd);
}

TEST(Pack, ParsesUnderEverySlicing) {
  std::vector<std::string> bodies = {"", "a", std::string(1000, 'z'), "end\n"};
  std::string pack = MakePack(bodies);
  for (size_t step : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, pack.size()}) {
    Collect c;
    PackParser parser(c);
    for (size_t i = 0; i < pack.size(); i += step)
      ASSERT_TRUE(parser.Feed(std::string_view(pack).substr(i, step)).ok()) << step;
    ASSERT_TRUE(parser.Finish().ok());
    ASSERT_EQ(c.objects.size(), bodies.size());
    for (size_t i = 0; i < bodies.size(); i++) EXPECT_EQ(c.objects[i].second, bodies[i]);
  }
}

TEST(Pack, TruncationIsAnError) {
  std::string pack = MakePack({"hello"});
  for (size_t cut = 0; cut < pack.size(); cut++) {
    Collect c;
    PackParser parser(c);
    Status st = parser.Feed(std::string_view(pack).substr(0, cut));
    if (st.ok()) st = parser.Finish();
    EXPECT_FALSE(st.ok()) << "cut at " << cut;
  }
}

TEST(Pack, RejectsBadFraming) {
  std::string id = ObjectId::Of("x").hex();
  for (std::string bad :
       {std::string("NOTAPACK\n"), std::string(kPackMagic) + "blob " + id + "\n",
        std::string(kPackMagic) + "tree " + id + " 1\nx",
        std::string(kPackMagic) + "blob " + id + " -1\n",
        std::string(kPackMagic) + "blob " + id + " 01\nx",
        std::string(kPackMagic) + "blob " + id + " 1x\n",
        std::string(kPackMagic) + std::string(500, 'a'),
        std::string(kPackMagic) + "end\nmore"}) {
    Collect c;
    PackParser parser(c);
    Status st = parser.Feed(bad);
    if (st.ok()) st = parser.Finish();
    EXPECT_FALSE(st.ok()) << bad;
  }
}

TEST(Pack, EnforcesLimits) {
  Collect c;
  PackLimits limits;
  limits.max_object_size = 3;
  PackParser parser(c, limits);
  EXPECT_EQ(parser.Feed(MakePack({"four"})).code(), Code::kTooLarge);
  Collect c2;
  limits = PackLimits{};
  limits.max_objects = 1;
  PackParser parser2(c2, limits);
  EXPECT_EQ(parser2.Feed(MakePack({"a", "b"})).code(), Code::kTooLarge);
}

}  // namespace
}  // namespace converge

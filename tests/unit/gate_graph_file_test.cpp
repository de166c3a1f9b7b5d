// `converge gates --set FILE` reads the file strictly before anything is sent
// (client/gate_graph_file.h).
#include "client/gate_graph_file.h"

#include <gtest/gtest.h>

#include "support/process.h"

namespace converge {
namespace {

TEST(GateGraphFileTest, AGraphIsRead) {
  Result<wire::GateGraph> g = ParseGateGraph(
      R"({"gates": [{"id": "dev-intake", "upstream": []},
                    {"id": "qa", "upstream": ["dev-intake"], "description": "tested"}]})",
      "f");
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->gates.size(), 2u);
  EXPECT_EQ(g->gates[1].id, "qa");
  EXPECT_EQ(g->gates[1].upstream, std::vector<std::string>{"dev-intake"});
  EXPECT_EQ(g->gates[1].description.value_or(""), "tested");
}

TEST(GateGraphFileTest, UnknownFieldsAndOtherShapesAreRefusedNamingTheSource) {
  struct Case {
    const char* text;
    const char* needle;
  };
  for (const Case& c : {
           Case{R"({"gates": [{"id": "a", "upstreams": []}]})", "unknown gate field \"upstreams\""},
           Case{R"({"gates": [], "extra": 1})", "unknown field \"extra\""},
           Case{R"({"gate": []})", "expected a JSON object"},
           Case{R"({"gates": ["a"]})", "each gate must be a JSON object"},
           Case{R"({"gates": )", ""},
       }) {
    Result<wire::GateGraph> g = ParseGateGraph(c.text, "gate graph file 'x.json'");
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_EQ(g.status().code(), Code::kInvalid) << c.text;
    EXPECT_NE(g.status().message().find(c.needle), std::string::npos) << g.status().message();
    EXPECT_NE(g.status().message().find("gate graph file 'x.json'"), std::string::npos)
        << g.status().message();
  }
}

TEST(GateGraphFileTest, AFileIsReadAndAMissingOneNamed) {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "g.json", R"({"gates": [{"id": "only", "upstream": []}]})");
  Result<wire::GateGraph> g = ReadGateGraphFile((tmp / "g.json").string());
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->gates.at(0).id, "only");
  Result<wire::GateGraph> missing = ReadGateGraphFile((tmp / "none.json").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read gate graph file"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace converge

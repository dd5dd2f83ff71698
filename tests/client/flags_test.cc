// FlagSet: forms of flags, validation errors, positional handling, --help.
#include "client/flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Values {
  std::string s = "x";
  int64_t n = 7;
  double d = 1.5;
  bool b = false;
  std::vector<int64_t> list;
  absl::Duration dur = absl::Seconds(30);
  std::string choice = "table";
};

FlagSet MakeFlags(Values* v) {
  FlagSet f("qkv test [flags]", "A test command.");
  f.AddString("name", &v->s, "a string");
  f.AddInt("count", &v->n, "an int");
  f.AddDouble("rate", &v->d, "a double");
  f.AddBool("verbose", &v->b, "a bool");
  f.AddIntList("layers", &v->list, "a list");
  f.AddDuration("timeout", &v->dur, "a duration");
  f.AddChoice("format", &v->choice, {"table", "json"}, "a choice");
  return f;
}

TEST(FlagsTest, ParsesEveryFormAndKeepsPositionalOrder) {
  Values v;
  FlagSet f = MakeFlags(&v);
  std::vector<std::string> pos;
  ASSERT_TRUE(f.Parse({"a", "--name=hello", "b", "--count", "42", "--rate=0.25", "--verbose", "--layers",
                       "-1,3, 5", "--timeout", "250ms", "--format=json", "-", "--", "--not-a-flag"},
                      &pos)
                  .ok());
  EXPECT_EQ(v.s, "hello");
  EXPECT_EQ(v.n, 42);
  EXPECT_DOUBLE_EQ(v.d, 0.25);
  EXPECT_TRUE(v.b);
  EXPECT_THAT(v.list, ElementsAre(-1, 3, 5));
  EXPECT_EQ(v.dur, absl::Milliseconds(250));
  EXPECT_EQ(v.choice, "json");
  EXPECT_THAT(pos, ElementsAre("a", "b", "-", "--not-a-flag"));
  EXPECT_TRUE(f.IsSet("name"));
  EXPECT_FALSE(f.help_requested());
}

TEST(FlagsTest, TrailingEqualsIsAnEmptyValueOnlyForAKnownFlag) {
  Values v;
  FlagSet f = MakeFlags(&v);
  std::vector<std::string> pos;
  ASSERT_TRUE(f.Parse({"--name=", "a"}, &pos).ok());
  EXPECT_EQ(v.s, "");
  EXPECT_THAT(pos, ElementsAre("a"));
  // Found by cli_input_fuzzer: "---rate=" was split like "--rate=" into "---rate" and "": two positionals
  // out of one argument. Now it is one positional, as CLI11 reads "---rate" too.
  Values w;
  FlagSet g = MakeFlags(&w);
  std::vector<std::string> pos2;
  ASSERT_TRUE(g.Parse({"---rate=", "b"}, &pos2).ok());
  EXPECT_THAT(pos2, ElementsAre("---rate=", "b"));
  EXPECT_DOUBLE_EQ(w.d, 1.5);
  // Found by cli_input_fuzzer: a bool flag's "--verbose=" became "--verbose" and a positional "".
  Values b;
  FlagSet k = MakeFlags(&b);
  std::vector<std::string> pos4;
  const absl::Status empty_bool = k.Parse({"--verbose=", "d"}, &pos4);
  EXPECT_EQ(empty_bool.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty_bool.message(), HasSubstr("flag --verbose: expected true or false"));
  EXPECT_TRUE(pos4.empty());
  // Found by cli_input_fuzzer: "--no-verbose=<a long number>" threw std::out_of_range out of CLI11 (abort).
  Values n;
  FlagSet m = MakeFlags(&n);
  std::vector<std::string> pos5;
  const absl::Status negated = m.Parse({"--no-verbose=22222222222222222222222222222"}, &pos5);
  EXPECT_EQ(negated.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negated.message(), HasSubstr("flag --no-verbose takes no value"));
  EXPECT_TRUE(m.Parse({"--no-verbose"}, &pos5).ok());
  EXPECT_FALSE(n.b);
  // "--=" names no flag.
  Values u;
  FlagSet h = MakeFlags(&u);
  std::vector<std::string> pos3;
  const absl::Status status = h.Parse({"--=", "c"}, &pos3);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown flag"));
}

TEST(FlagsTest, BracketedArgumentsStayWhole) {
  // Found by cli_input_fuzzer (finding 5): CLI11 reads "[a,b]" as a list and split such a positional into
  // several. Texts like "[CLS] x [SEP]" or "[1,2]" are one argument, positional or flag value.
  Values v;
  FlagSet f = MakeFlags(&v);
  std::vector<std::string> pos;
  ASSERT_TRUE(f.Parse({"[   ,-   ]", "--name", "[x,y]", "[a,b]", "--", "[c,d]", "[", "[]"}, &pos).ok());
  EXPECT_THAT(pos, ElementsAre("[   ,-   ]", "[a,b]", "[c,d]", "[", "[]"));
  EXPECT_EQ(v.s, "[x,y]");
  Values w;
  FlagSet g = MakeFlags(&w);
  std::vector<std::string> pos2;
  ASSERT_TRUE(g.Parse({"--name=[p]"}, &pos2).ok());
  EXPECT_EQ(w.s, "[p]");
  EXPECT_TRUE(pos2.empty());
  const absl::Status status = g.Parse({"--layers=[1,2]"}, &pos2);
  EXPECT_THAT(status.message(), HasSubstr("flag --layers"));
}

TEST(FlagsTest, DefaultsStayWhenUnset) {
  Values v;
  FlagSet f = MakeFlags(&v);
  std::vector<std::string> pos;
  ASSERT_TRUE(f.Parse({}, &pos).ok());
  EXPECT_EQ(v.n, 7);
  EXPECT_EQ(v.dur, absl::Seconds(30));
  EXPECT_FALSE(f.IsSet("count"));
}

TEST(FlagsTest, BoolForms) {
  Values v;
  FlagSet f = MakeFlags(&v);
  std::vector<std::string> pos;
  ASSERT_TRUE(f.Parse({"--verbose=true", "--no-verbose"}, &pos).ok());
  EXPECT_FALSE(v.b);
  ASSERT_TRUE(f.Parse({"--verbose=1"}, &pos).ok());
  EXPECT_TRUE(v.b);
  // A bool never swallows the next argument.
  ASSERT_TRUE(f.Parse({"--verbose", "false"}, &pos).ok());
  EXPECT_TRUE(v.b);
  EXPECT_THAT(pos, ElementsAre("false"));
}

TEST(FlagsTest, DurationAcceptsPlainSeconds) {
  Values v;
  FlagSet f = MakeFlags(&v);
  std::vector<std::string> pos;
  ASSERT_TRUE(f.Parse({"--timeout", "2.5"}, &pos).ok());
  EXPECT_EQ(v.dur, absl::Milliseconds(2500));
  ASSERT_TRUE(f.Parse({"--timeout=1m30s"}, &pos).ok());
  EXPECT_EQ(v.dur, absl::Seconds(90));
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"--bogus"}, "unknown flag --bogus"},
      {{"-x"}, "unknown flag -x"},
      {{"--count", "ten"}, "--count: expected an integer, got \"ten\""},
      {{"--count"}, "--count needs a value"},
      {{"--rate=fast"}, "--rate: expected a number"},
      {{"--verbose=maybe"}, "--verbose: expected true or false"},
      {{"--layers", "1,x"}, "--layers: expected comma-separated integers, got \"x\""},
      {{"--timeout", "soon"}, "--timeout: expected a duration"},
      {{"--timeout", "-1s"}, "--timeout: expected a positive"},
      {{"--format", "xml"}, "--format: expected one of table, json; got \"xml\""},
      {{"--no-count"}, "unknown flag --no-count"},
  };
  for (const Case& c : cases) {
    Values v;
    FlagSet f = MakeFlags(&v);
    std::vector<std::string> pos;
    absl::Status s = f.Parse(c.args, &pos);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.args[0];
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.want)) << c.args[0];
  }
}

TEST(FlagsTest, HelpStopsParsingAndListsFlagsWithDefaults) {
  Values v;
  FlagSet f = MakeFlags(&v);
  std::vector<std::string> pos;
  ASSERT_TRUE(f.Parse({"--help", "--bogus"}, &pos).ok());
  EXPECT_TRUE(f.help_requested());
  const std::string help = f.Help();
  EXPECT_THAT(help, HasSubstr("Usage: qkv test [flags]"));
  EXPECT_THAT(help, HasSubstr("A test command."));
  EXPECT_THAT(help, HasSubstr("--count N"));
  EXPECT_THAT(help, HasSubstr("(default: 7)"));
  EXPECT_THAT(help, HasSubstr("--format table|json"));
  EXPECT_THAT(help, HasSubstr("(default: 30s)"));
  EXPECT_THAT(help, HasSubstr("--help"));
}

TEST(FlagsTest, ParseIntList) {
  std::vector<int64_t> out;
  ASSERT_TRUE(ParseIntList("", &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(ParseIntList("101, 7592 ,102", &out).ok());
  EXPECT_THAT(out, ElementsAre(101, 7592, 102));
  EXPECT_FALSE(ParseIntList("1,,2", &out).ok());
  EXPECT_FALSE(ParseIntList("1.5", &out).ok());
}

}  // namespace
}  // namespace qkv

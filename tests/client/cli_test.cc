// Subcommand: --help, flag errors, and how a command's absl::Status becomes an exit code and a message.
// FlagSet corner cases the CLI11 parser must read the way qkv always has.
#include "client/cli.h"

#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qkv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct DemoRun {
  int exit_code;
  std::string out;
  std::string err;
};

// Runs a "demo" subcommand whose body returns `result`.
DemoRun RunDemo(const std::vector<std::string>& args, const absl::Status& result,
                std::vector<std::string>* positional = nullptr) {
  std::istringstream in;
  std::ostringstream out, err;
  CliEnv env;
  env.in = &in;
  env.out = &out;
  env.err = &err;
  Subcommand cmd("demo", "qkv demo [flags]", "A demo command.", env);
  int64_t n = 1;
  cmd.flags().AddInt("n", &n, "a number");
  const int code = cmd.Run(args, [&](const std::vector<std::string>& p) {
    if (positional != nullptr) *positional = p;
    return result;
  });
  return {code, out.str(), err.str()};
}

TEST(SubcommandTest, HelpListsTheCommandFlagsThenTheConnectionFlags) {
  const DemoRun r = RunDemo({"--help"}, absl::InternalError("not reached"));
  EXPECT_EQ(r.exit_code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("Usage: qkv demo [flags]"));
  EXPECT_LT(r.out.find("--n N"), r.out.find("--target ADDR"));
  EXPECT_THAT(r.out, HasSubstr("--retries N"));
  EXPECT_THAT(r.out, HasSubstr("(default: 30s)"));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(SubcommandTest, FlagErrorIsAUsageError) {
  const DemoRun r = RunDemo({"--n", "x"}, absl::OkStatus());
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_EQ(r.err, "qkv demo: flag --n: expected an integer, got \"x\"\nRun 'qkv demo --help' for usage.\n");
}

TEST(SubcommandTest, StatusesMapToExitCodesAndMessages) {
  std::vector<std::string> positional;
  DemoRun r = RunDemo({"a", "--n=2", "b"}, absl::OkStatus(), &positional);
  EXPECT_EQ(r.exit_code, kExitOk);
  EXPECT_THAT(positional, ElementsAre("a", "b"));
  EXPECT_THAT(r.err, IsEmpty());

  r = RunDemo({}, UsageError("give one TEXT"));
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_EQ(r.err, "qkv demo: give one TEXT\nRun 'qkv demo --help' for usage.\n");

  r = RunDemo({}, LocalError("cannot open x.txt"));
  EXPECT_EQ(r.exit_code, kExitLocalError);
  EXPECT_EQ(r.err, "qkv demo: cannot open x.txt\n");

  r = RunDemo({}, absl::UnavailableError("connection refused"));  // an RPC's status
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_EQ(r.err, "qkv demo: UNAVAILABLE: connection refused\n");

  r = RunDemo({}, absl::DeadlineExceededError(""));
  EXPECT_EQ(r.err, "qkv demo: DEADLINE_EXCEEDED\n");

  r = RunDemo({}, ExitError(kExitRpcError, "no request succeeded"));
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_EQ(r.err, "qkv demo: no request succeeded\n");

  r = RunDemo({}, Silent(ExitError(kExitNotServing, "NOT_SERVING")));
  EXPECT_EQ(r.exit_code, kExitNotServing);
  EXPECT_THAT(r.err, IsEmpty());

  r = RunDemo({}, Silent(absl::UnavailableError("down")));
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(SubcommandTest, ConnectChecksTheConnectionFlags) {
  std::istringstream in;
  std::ostringstream out, err;
  CliEnv env;
  env.in = &in;
  env.out = &out;
  env.err = &err;
  env.default_target = "127.0.0.1:1";
  for (const auto& [args, want_code, want] :
       std::vector<std::tuple<std::vector<std::string>, ExitCode, std::string>>{
           {{"--retries", "5"}, kExitUsage, "--retries must be in [0, 4], got 5"},
           {{"--tls-cert", "c.pem"}, kExitUsage, "needs its key"},
           {{"--tls-ca", "/nonexistent/ca.pem"}, kExitLocalError, "/nonexistent/ca.pem"},
       }) {
    Subcommand cmd("demo", "qkv demo", "A demo command.", env);
    absl::Status connected;
    EXPECT_EQ(cmd.Run(args,
                      [&](const std::vector<std::string>&) {
                        connected = cmd.Connect().status();
                        return connected;
                      }),
              want_code);
    EXPECT_THAT(std::string(connected.message()), HasSubstr(want));
  }
  Subcommand cmd("demo", "qkv demo", "A demo command.", env);
  std::string target;
  EXPECT_EQ(cmd.Run({},
                    [&](const std::vector<std::string>&) -> absl::Status {
                      absl::StatusOr<std::unique_ptr<EncoderClient>> client = cmd.Connect();
                      if (!client.ok()) return client.status();
                      target = (*client)->options().target;
                      EXPECT_EQ((*client)->options().max_attempts, 4);
                      return absl::OkStatus();
                    }),
            kExitOk);
  EXPECT_EQ(target, "127.0.0.1:1");  // env.default_target stands in for an unset --target
}

TEST(FlagSetTest, CornerCasesReadAsBefore) {
  std::string text;
  bool normalize = false, no_normalize = false;
  FlagSet f("qkv t", "t");
  f.AddString("pair", &text, "a string");
  f.AddBool("normalize", &normalize, "a bool");
  f.AddBool("no-normalize", &no_normalize, "a bool named no-...");
  std::vector<std::string> pos;
  // "--name=" is an empty value, not "take the next argument".
  ASSERT_TRUE(f.Parse({"--pair=", "x"}, &pos).ok());
  EXPECT_EQ(text, "");
  EXPECT_TRUE(f.IsSet("pair"));
  EXPECT_THAT(pos, ElementsAre("x"));
  // A value flag takes the next argument whatever it looks like.
  ASSERT_TRUE(f.Parse({"--pair", "-1"}, &pos).ok());
  EXPECT_EQ(text, "-1");
  // An explicit --no-X flag wins over the negation of --X.
  ASSERT_TRUE(f.Parse({"--normalize", "--no-normalize"}, &pos).ok());
  EXPECT_TRUE(normalize);
  EXPECT_TRUE(no_normalize);
  // A word that starts with -h is an unknown flag, not --help.
  absl::Status s = f.Parse({"-hello"}, &pos);
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown flag -hello (flags are spelled --name"));
  EXPECT_FALSE(f.help_requested());
  // The last of a repeated flag wins.
  ASSERT_TRUE(f.Parse({"--pair", "a", "--pair", "b"}, &pos).ok());
  EXPECT_EQ(text, "b");
  ASSERT_TRUE(f.Parse({"-h"}, &pos).ok());
  EXPECT_TRUE(f.help_requested());
}

}  // namespace
}  // namespace qkv

// The qkv binary against a real qkv-server (both from QKV_BINARY_DIR) serving the bundled bert-tiny-random:
// every subcommand, exit codes and messages for bad flags, a bad target and server-side errors; encode's
// JSON compared with qkv_core's Encoder run in-process on the same ids; the attention SVG checked with
// Python's xml.etree; bench's accounting; TLS + mTLS end to end.
#include <cmath>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/encoder.h"
#include "core/model_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "qkv_version.h"
#include "tests/client/process_util.h"

namespace qkv {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing_util::ProcessResult;
using testing_util::ServerProcess;
using json = nlohmann::json;

class CliServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = new std::string;
    for (const std::string& bin : {testing_util::QkvBinary(), testing_util::ServerBinary()}) {
      if (!testing_util::FileExists(bin)) {
        *setup_error_ = bin + " is missing: build the qkv and qkv-server targets before qkv_client_tests";
        return;
      }
    }
    const int port = testing_util::PickFreePort();
    absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
        testing_util::ServerBinary(),
        {"--model", testing_util::BundledModelDir(), "--listen", absl::StrCat("127.0.0.1:", port)}, port);
    if (!server.ok()) {
      *setup_error_ = std::string(server.status().message());
      return;
    }
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_->empty()) << *setup_error_; }

  // Runs `qkv <args> --target <server>`.
  static ProcessResult Qkv(std::vector<std::string> args, const std::string& input = "",
                           const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), testing_util::QkvBinary());
    args.push_back("--target");
    args.push_back(server_->target());
    return testing_util::RunProcess(args, input, env);
  }
  // Runs qkv without adding --target.
  static ProcessResult QkvRaw(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), testing_util::QkvBinary());
    return testing_util::RunProcess(args, "", env);
  }

  static ServerProcess* server_;
  static std::string* setup_error_;
};
ServerProcess* CliServerTest::server_ = nullptr;
std::string* CliServerTest::setup_error_ = nullptr;

json ParseJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << text.substr(0, 2000);
  return j;
}

// The bundled model loaded in-process: the reference for the CLI's numbers.
struct Reference {
  ModelConfig config;
  std::optional<Tokenizer> tokenizer;
  std::unique_ptr<Encoder> encoder;
};
const Reference& LoadReference() {
  static const Reference* ref = [] {
    auto* r = new Reference;
    absl::StatusOr<LoadedModel> model = LoadModel(testing_util::BundledModelDir());
    EXPECT_TRUE(model.ok()) << model.status();
    if (!model.ok()) return r;
    r->config = model->config;
    r->tokenizer = model->tokenizer;
    absl::StatusOr<std::unique_ptr<Encoder>> encoder =
        Encoder::Create(model->config, std::move(model->weights));
    EXPECT_TRUE(encoder.ok()) << encoder.status();
    if (encoder.ok()) r->encoder = *std::move(encoder);
    return r;
  }();
  return *ref;
}

void ExpectClose(const json& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_TRUE(got.is_array()) << what;
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    const double g = got[i].get<double>();
    ASSERT_NEAR(g, want[i], 1e-4 * std::max(1.0, std::fabs(static_cast<double>(want[i]))))
        << what << "[" << i << "]";
  }
}

// ---------------------------------------------------------------------------------------------- usage

TEST_F(CliServerTest, UsageErrorsExitTwo) {
  ProcessResult r = QkvRaw({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("Usage: qkv <command>"));
  r = QkvRaw({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command \"frobnicate\""));
  r = Qkv({"encode", "hi", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("qkv encode: unknown flag --bogus"));
  r = Qkv({"encode", "hi", "--pooling", "max"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--pooling: expected one of default, cls, mean, pooler, none"));
  r = Qkv({"encode"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("nothing to encode"));
  r = Qkv({"encode", "--ids", "1,two"});
  EXPECT_EQ(r.exit_code, 2);
  r = Qkv({"tokenize"});
  EXPECT_EQ(r.exit_code, 2);
  r = Qkv({"attention", "a", "--ids", "101,102"});
  EXPECT_EQ(r.exit_code, 2);
  r = Qkv({"bench", "--requests", "5", "--duration", "1s"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not both"));
  r = Qkv({"health", "--timeout", "0s"});
  EXPECT_EQ(r.exit_code, 2);
  r = Qkv({"info", "--retries", "9"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(CliServerTest, EveryCommandHasHelp) {
  for (const char* cmd : {"encode", "tokenize", "info", "health", "attention", "bench"}) {
    ProcessResult r = QkvRaw({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr(std::string("Usage: qkv ") + cmd)) << cmd;
    EXPECT_THAT(r.out, HasSubstr("--target")) << cmd;
    EXPECT_THAT(r.out, HasSubstr("--tls-ca")) << cmd;
  }
  ProcessResult r = QkvRaw({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Exit codes"));
}

// --------------------------------------------------------------------------------------------- health

TEST_F(CliServerTest, HealthServingAndTargets) {
  ProcessResult r = Qkv({"health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  r = Qkv({"health", "--service", "qkv.v1.EncoderService", "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  // The target from the environment.
  r = QkvRaw({"health"}, {"QKV_TARGET=" + server_->target()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // An unknown service: the server answers NOT_FOUND.
  r = Qkv({"health", "--service", "no.such.Service"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("qkv health: NOT_FOUND"));
}

// A draining server (SIGTERM, within --drain_notice) answers health NOT_SERVING: exit 4, not a connection
// error (the health command's channel does not itself skip unhealthy servers).
TEST_F(CliServerTest, HealthOfADrainingServerIsNotServingExit4) {
  const int port = testing_util::PickFreePort();
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      testing_util::ServerBinary(),
      {"--model", testing_util::BundledModelDir(), "--listen", absl::StrCat("127.0.0.1:", port),
       "--drain_notice=60s", "--grace_period=60s"},
      port);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = absl::StrCat("127.0.0.1:", port);
  (*server)->BeginStop();
  ProcessResult r;
  const absl::Time limit = absl::Now() + absl::Seconds(20);  // well inside the 60 s notice
  do {
    r = QkvRaw({"health", "--target", target, "--timeout", "3s"});
  } while (r.exit_code == 0 && absl::Now() < limit);
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.out, "NOT_SERVING\n");
  r = QkvRaw({"health", "--target", target, "--timeout", "3s", "--service", "qkv.v1.EncoderService"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  // Other commands refuse to send to it: UNAVAILABLE (exit 1).
  r = QkvRaw({"info", "--target", target, "--timeout", "3s", "--retries", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
  (*server)->Kill();  // the notice would hold the exit for a minute
}

TEST_F(CliServerTest, BadTargetIsAnRpcError) {
  const std::string dead = absl::StrCat("127.0.0.1:", testing_util::PickFreePort());
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"health"},
                                             {"info"},
                                             {"tokenize", "x"},
                                             {"encode", "x"},
                                             {"attention", "x"},
                                             {"bench", "--requests", "3"}}) {
    std::vector<std::string> a = args;
    a.insert(a.end(), {"--target", dead, "--timeout", "3s"});
    ProcessResult r = QkvRaw(a);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("qkv " + args[0] + ": UNAVAILABLE")) << args[0];
  }
  // A plaintext server reached with TLS fails too (the handshake never completes).
  ProcessResult r = Qkv({"health", "--tls", "--timeout", "3s", "--retries", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
  // A missing CA file is a local error.
  r = Qkv({"health", "--tls-ca", "/nonexistent/ca.pem"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/ca.pem"));
}

// ------------------------------------------------------------------------------------- info / tokenize

TEST_F(CliServerTest, InfoMatchesTheModelConfig) {
  const Reference& ref = LoadReference();
  ProcessResult r = Qkv({"info", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = ParseJson(r.out);
  EXPECT_EQ(j["model"], "bert-tiny-random");
  EXPECT_EQ(j["architecture"]["num_layers"], ref.config.num_hidden_layers);
  EXPECT_EQ(j["architecture"]["hidden_size"], ref.config.hidden_size);
  EXPECT_EQ(j["architecture"]["num_attention_heads"], ref.config.num_attention_heads);
  EXPECT_EQ(j["architecture"]["vocab_size"], ref.config.vocab_size);
  EXPECT_EQ(j["special_tokens"]["cls"], ref.tokenizer->special_tokens().cls);
  EXPECT_EQ(j["version"], kQkvVersion);  // the server's release, from the same CMake project version
  EXPECT_EQ(j["tokenizer"], "WordPiece");
  r = Qkv({"info"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("bert, 2 layers, hidden 128, 2 heads"));
  EXPECT_THAT(r.out, HasSubstr("tokens (WordPiece, lower-cased)"));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("server version:   ", kQkvVersion, "\n")));
  r = Qkv({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, absl::StrCat("qkv ", kQkvVersion, "\n"));
}

TEST_F(CliServerTest, TokenizeMatchesTheCoreTokenizer) {
  const Reference& ref = LoadReference();
  const std::string text = "Hello, world! Unbelievable tokenization.";
  absl::StatusOr<Encoding> want = ref.tokenizer->Encode(text);
  ASSERT_TRUE(want.ok()) << want.status();
  ProcessResult r = Qkv({"tokenize", text, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = ParseJson(r.out);
  EXPECT_EQ(j["ids"].get<std::vector<int32_t>>(), want->ids);
  EXPECT_EQ(j["tokens"].get<std::vector<std::string>>(), want->tokens);
  r = Qkv({"tokenize", text, "--ids"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrJoin(want->ids, ",") + "\n");
  r = Qkv({"tokenize", text});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("[CLS]"));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(want->ids.size(), " tokens")));
  // A limit beyond the model's positions is the server's INVALID_ARGUMENT.
  r = Qkv({"tokenize", text, "--max-length", "100000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("qkv tokenize: INVALID_ARGUMENT: max_length"));
  // Invalid UTF-8 never leaves the client (proto3 strings must be UTF-8).
  r = Qkv({"tokenize", "bad \xff byte"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("not valid UTF-8"));
}

// --------------------------------------------------------------------------------------------- encode

TEST_F(CliServerTest, EncodeJsonEqualsTheCoreEncoder) {
  const Reference& ref = LoadReference();
  ASSERT_NE(ref.encoder, nullptr);
  const std::vector<int32_t> ids = {101, 7592, 1010, 2088, 999, 2023, 2003, 1037, 3231, 102};
  ProcessResult r = Qkv({"encode", "--ids", absl::StrJoin(ids, ","), "--format", "json", "--pooling", "mean",
                         "--token-vectors", "--attention-layers", "0,-1", "--tokens"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = ParseJson(r.out);
  EXPECT_EQ(j["model"], "bert-tiny-random");
  ASSERT_EQ(j["outputs"].size(), 1u);
  const json& out = j["outputs"][0];
  EXPECT_EQ(out["ids"].get<std::vector<int32_t>>(), ids);
  ASSERT_EQ(out["tokens"].size(), ids.size());
  EXPECT_EQ(out["tokens"][0], "[CLS]");

  const int64_t layers = ref.config.num_hidden_layers;
  OutputSpec spec;
  spec.token_vectors = true;
  spec.pooling = Pooling::kMean;
  spec.attention_layers = {0, static_cast<int>(layers - 1)};
  std::unique_ptr<Workspace> ws = ref.encoder->NewWorkspace();
  std::vector<SequenceOutput> want;
  ASSERT_TRUE(ref.encoder->Run({SequenceInput{ids, {}, spec}}, ws.get(), &want).ok());
  const int64_t t = static_cast<int64_t>(ids.size());
  const int64_t d = ref.config.hidden_size;
  const int64_t h = ref.config.num_attention_heads;

  ExpectClose(out["pooled"], want[0].pooled, "pooled");
  ASSERT_EQ(out["token_vectors"].size(), static_cast<size_t>(t));
  for (int64_t i = 0; i < t; ++i) {
    ExpectClose(
        out["token_vectors"][i],
        std::vector<float>(want[0].last_hidden.begin() + i * d, want[0].last_hidden.begin() + (i + 1) * d),
        absl::StrCat("token_vectors[", i, "]"));
  }
  // Layer keys as the server resolved them ("-1" -> L-1); [head][query][key].
  ASSERT_TRUE(out["attention"].contains("0"));
  ASSERT_TRUE(out["attention"].contains(absl::StrCat(layers - 1)));
  for (const LayerTensor& a : want[0].attentions) {
    const json& got = out["attention"][absl::StrCat(a.layer)];
    ASSERT_EQ(got.size(), static_cast<size_t>(h));
    for (int64_t head = 0; head < h; ++head) {
      ASSERT_EQ(got[head].size(), static_cast<size_t>(t));
      for (int64_t q = 0; q < t; ++q) {
        const auto row = a.data.begin() + (head * t + q) * t;
        ExpectClose(got[head][q], std::vector<float>(row, row + t),
                    absl::StrCat("attention ", a.layer, " ", head, " ", q));
      }
    }
  }
}

TEST_F(CliServerTest, EncodeTextsTableAndJsonl) {
  const Reference& ref = LoadReference();
  ProcessResult r =
      Qkv({"encode", "hello world", "a second text", "--format", "jsonl", "--tokens", "--normalize"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  const json first = ParseJson(lines[0]);
  absl::StatusOr<Encoding> want = ref.tokenizer->Encode("hello world");
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(first["ids"].get<std::vector<int32_t>>(), want->ids);
  EXPECT_EQ(first["tokens"].get<std::vector<std::string>>(), want->tokens);
  double norm = 0;
  for (const json& v : first["pooled"]) norm += v.get<double>() * v.get<double>();
  EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-4);
  EXPECT_EQ(ParseJson(lines[1])["id"], "1");

  r = Qkv({"encode", "hello world", "--tokens", "--pair", "and its pair"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("[0] \"hello world\""));
  EXPECT_THAT(r.out, HasSubstr("tokens: [CLS] hello world [SEP] and its pair [SEP]"));
  EXPECT_THAT(r.out, HasSubstr("pooled [128]:"));
  EXPECT_THAT(r.out, HasSubstr("model: bert-tiny-random"));
}

TEST_F(CliServerTest, EncodeServerSideErrors) {
  ProcessResult r = Qkv({"encode", "--ids", "101,999999,102"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("qkv encode: INVALID_ARGUMENT"));
  EXPECT_THAT(r.err, HasSubstr("999999"));
  r = Qkv({"encode", "x", "--attention-layers", "7"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
  r = Qkv({"encode", "x", "--max-length", "100000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
  r = Qkv({"encode", "--file", "/nonexistent/lines.txt"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("cannot open /nonexistent/lines.txt"));
}

TEST_F(CliServerTest, EncodeBulkStdinStreamsInOrder) {
  const Reference& ref = LoadReference();
  std::vector<std::string> texts;
  std::string input;
  for (int i = 0; i < 53; ++i) {
    texts.push_back(absl::StrCat("line number ", i, i % 3 == 0 ? " with some extra words" : ""));
    absl::StrAppend(&input, texts.back(), i % 5 == 0 ? "\r\n" : "\n");
  }
  ProcessResult r = Qkv({"encode", "-", "--format", "jsonl", "--batch", "4", "--window", "3"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no progress bar when stderr is not a terminal
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const json j = ParseJson(lines[i]);
    EXPECT_EQ(j["id"], absl::StrCat(i));
    absl::StatusOr<Encoding> want = ref.tokenizer->Encode(texts[i]);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(j["ids"].get<std::vector<int32_t>>(), want->ids) << i;
  }
  // --format json from a file: one object, one output per line.
  const std::string path = ::testing::TempDir() + "/qkv-cli-lines.txt";
  {
    std::ofstream f(path);
    f << input;
  }
  r = Qkv({"encode", "--file", path, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = ParseJson(r.out);
  EXPECT_EQ(j["model"], "bert-tiny-random");
  EXPECT_EQ(j["outputs"].size(), texts.size());
}

TEST_F(CliServerTest, EncodeBulkReportsPerRequestErrorsAndGoesOn) {
  std::string too_long;
  for (int i = 0; i < 600; ++i) too_long += "word ";
  const std::string input = "fine\nalso fine\n" + too_long + "\nfine again\n";
  ProcessResult r = Qkv({"encode", "-", "--format", "jsonl", "--batch", "1"}, input);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("qkv encode: lines 3-3: INVALID_ARGUMENT"));
  EXPECT_THAT(r.err, HasSubstr("1 of 4 requests failed"));
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(ParseJson(lines[2])["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_TRUE(ParseJson(lines[3]).contains("pooled"));
  // Invalid UTF-8 is caught before anything is sent.
  r = Qkv({"encode", "-", "--batch", "1"}, "fine\nbroken \xff utf8\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("stdin: line 2 is not valid UTF-8"));
  EXPECT_EQ(r.out, "");
}

// ------------------------------------------------------------------------------------------ attention

TEST_F(CliServerTest, AttentionSvgHasACellPerHeadQueryKeyAndLabels) {
  if (!testing_util::FileExists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not installed";
  const Reference& ref = LoadReference();
  const std::string text = "the quick brown fox & the <lazy> dog";
  absl::StatusOr<Encoding> enc = ref.tokenizer->Encode(text);
  ASSERT_TRUE(enc.ok());
  const size_t t = enc->ids.size();
  const int64_t heads = ref.config.num_attention_heads;
  const std::string path = ::testing::TempDir() + "/qkv-cli-attention.svg";
  ProcessResult r = Qkv({"attention", text, "--svg", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(heads, " heads x ", t, " tokens")));
  const std::string script = R"PY(
import json, sys
import xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
out = []
for g in root.iter(ns + 'g'):
    if g.get('class') == 'panel':
        out.append({'head': int(g.get('data-head')),
                    'cells': sum(1 for r in g.iter(ns + 'rect') if r.get('class') == 'cell'),
                    'q': [x.text for x in g.iter(ns + 'text') if x.get('class') == 'qlabel'],
                    'k': [x.text for x in g.iter(ns + 'text') if x.get('class') == 'klabel']})
print(json.dumps(out))
)PY";
  ProcessResult py = testing_util::RunProcess({"/usr/bin/python3", "-c", script, path});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  const json panels = ParseJson(py.out);
  ASSERT_EQ(panels.size(), static_cast<size_t>(heads));
  for (int64_t h = 0; h < heads; ++h) {
    EXPECT_EQ(panels[h]["head"], h);
    EXPECT_EQ(panels[h]["cells"], t * t);
    EXPECT_EQ(panels[h]["q"].get<std::vector<std::string>>(), enc->tokens);
    EXPECT_EQ(panels[h]["k"].get<std::vector<std::string>>(), enc->tokens);
  }
  // One head, chosen by number.
  r = Qkv({"attention", text, "--svg", path, "--heads", "1", "--layer", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  py = testing_util::RunProcess({"/usr/bin/python3", "-c", script, path});
  const json one = ParseJson(py.out);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["head"], 1);
}

TEST_F(CliServerTest, AttentionTerminalShadesOrColour) {
  ProcessResult r = Qkv({"attention", "hello world"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);  // stdout is a pipe: shades, no escapes
  EXPECT_THAT(r.out, HasSubstr("head 0"));
  EXPECT_THAT(r.out, HasSubstr("hello "));
  EXPECT_THAT(r.out, HasSubstr("scale 0.00"));
  r = Qkv({"attention", "hello world", "--color", "always"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\x1b[48;5;"));
  r = Qkv({"attention", "hello world", "--layer", "9"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("qkv attention: INVALID_ARGUMENT"));
  r = Qkv({"attention", "hello", "--svg", "/nonexistent/dir/a.svg"});
  EXPECT_EQ(r.exit_code, 3);
}

// ---------------------------------------------------------------------------------------------- bench

TEST_F(CliServerTest, BenchAccountsForEveryRequest) {
  ProcessResult r =
      Qkv({"bench", "--requests", "60", "--concurrency", "3", "--seq-len", "16", "--batch", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = ParseJson(r.out);
  EXPECT_EQ(j["requests"]["sent"], 60);
  EXPECT_EQ(j["requests"]["succeeded"].get<int>() + j["requests"]["failed"].get<int>(), 60);
  int64_t by_code = 0;
  for (const auto& [code, n] : j["status_codes"].items()) by_code += n.get<int64_t>();
  EXPECT_EQ(by_code, 60);
  const json& lat = j["latency_ms"];
  EXPECT_GT(lat["min"].get<double>(), 0);
  EXPECT_LE(lat["min"].get<double>(), lat["p50"].get<double>());
  EXPECT_LE(lat["p50"].get<double>(), lat["p90"].get<double>());
  EXPECT_LE(lat["p90"].get<double>(), lat["p95"].get<double>());
  EXPECT_LE(lat["p95"].get<double>(), lat["p99"].get<double>());
  EXPECT_LE(lat["p99"].get<double>(), lat["max"].get<double>());
  EXPECT_GT(j["throughput"]["requests_per_s"].get<double>(), 0);
  EXPECT_GT(j["split_ms"]["compute"].get<double>(), 0);  // from the responses' timing
  EXPECT_EQ(j["config"]["model"], "bert-tiny-random");

  // Open loop for a duration, text report.
  r = Qkv({"bench", "--duration", "1s", "--rate", "40", "--concurrency", "2", "--seq-len", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Rate: 40.0 req/s (open loop)"));
  EXPECT_THAT(r.out, HasSubstr("p50"));
  EXPECT_THAT(r.out, HasSubstr("Status codes:"));
}

TEST_F(CliServerTest, BenchCountsServerErrors) {
  // More sequences per request than the server's max_batch_sequences: every request is INVALID_ARGUMENT.
  ProcessResult r = Qkv({"info", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0);
  const int batch = ParseJson(r.out)["limits"]["max_batch_sequences"].get<int>() + 1;
  r = Qkv({"bench", "--requests", "5", "--batch", absl::StrCat(batch), "--seq-len", "4", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no request succeeded"));
  const json j = ParseJson(r.out);
  EXPECT_EQ(j["requests"]["failed"], 5);
  EXPECT_EQ(j["status_codes"]["INVALID_ARGUMENT"], 5);
  EXPECT_FALSE(j["errors"]["INVALID_ARGUMENT"].get<std::string>().empty());
  // Longer than the model's positions: a usage error before any load.
  r = Qkv({"bench", "--requests", "1", "--seq-len", "100000"});
  EXPECT_EQ(r.exit_code, 2);
}

// ------------------------------------------------------------------------------------------------ TLS

TEST_F(CliServerTest, MutualTlsEndToEnd) {
  if (!testing_util::FileExists("/usr/bin/openssl")) GTEST_SKIP() << "openssl not installed";
  const std::string dir = ::testing::TempDir() + "/qkv-cli-tls-" + std::to_string(getpid());
  ASSERT_TRUE(testing_util::MakeTestCertificates(dir).ok());
  const int port = testing_util::PickFreePort();
  TlsOptions probe;
  probe.ca_file = dir + "/ca.pem";
  probe.cert_file = dir + "/client.pem";
  probe.key_file = dir + "/client.key";
  probe.server_name = "qkv.test";
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      testing_util::ServerBinary(),
      {"--model", testing_util::BundledModelDir(), "--listen", absl::StrCat("127.0.0.1:", port), "--tls_cert",
       dir + "/server.pem", "--tls_key", dir + "/server.key", "--tls_client_ca", dir + "/ca.pem"},
      port, absl::Seconds(60), probe);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = absl::StrCat("127.0.0.1:", port);
  const std::vector<std::string> server_tls = {"--target",          target,     "--tls-ca",  dir + "/ca.pem",
                                               "--tls-server-name", "qkv.test", "--timeout", "5s",
                                               "--retries",         "0"};
  const std::vector<std::string> client_cert = {"--tls-cert", dir + "/client.pem", "--tls-key",
                                                dir + "/client.key"};
  auto run = [&](std::vector<std::string> args, bool with_cert) {
    args.insert(args.end(), server_tls.begin(), server_tls.end());
    if (with_cert) args.insert(args.end(), client_cert.begin(), client_cert.end());
    return QkvRaw(args);
  };
  ProcessResult r = run({"health"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  r = run({"encode", "over mutual tls", "--format", "json"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseJson(r.out)["outputs"].size(), 1u);
  // Without the client certificate the server refuses the handshake.
  r = run({"health"}, false);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("qkv health: UNAVAILABLE"));
  // Plaintext against the TLS port.
  r = QkvRaw({"health", "--target", target, "--timeout", "3s", "--retries", "0"});
  EXPECT_EQ(r.exit_code, 1);
  // --tls-cert without --tls-key is a usage error.
  r = QkvRaw({"health", "--target", target, "--tls-cert", dir + "/client.pem"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("needs its key"));
}

}  // namespace
}  // namespace qkv

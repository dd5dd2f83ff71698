#include "server_test_util.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace qkv {
namespace testing_util {

std::unique_ptr<ServedModel> LoadTinyModel() {
  absl::StatusOr<std::unique_ptr<ServedModel>> model = LoadServedModel(kModelDir, 8192);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(*model) : nullptr;
}

absl::Status ControlledRunner::Run(absl::Span<const SequenceInput> inputs, Workspace* workspace,
                                   std::vector<SequenceOutput>* outputs) const {
  {
    absl::MutexLock lock(&mu_);
    std::vector<int> firsts;
    for (const SequenceInput& in : inputs) firsts.push_back(in.token_ids.empty() ? -1 : in.token_ids[0]);
    batches_.push_back(std::move(firsts));
    ++entered_;
    mu_.Await(absl::Condition(&open_));
    if (!fail_.ok()) return fail_;
  }
  return encoder_->Run(inputs, workspace, outputs);
}

void ControlledRunner::Close() {
  absl::MutexLock lock(&mu_);
  open_ = false;
}

void ControlledRunner::Open() {
  absl::MutexLock lock(&mu_);
  open_ = true;
}

void ControlledRunner::FailWith(absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_ = std::move(status);
}

void ControlledRunner::AwaitEntered(int n) const {
  absl::MutexLock lock(&mu_);
  auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return entered_ >= n; };
  ASSERT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&reached), kWait))
      << "runner not entered " << n << " times";
}

bool WaitUntil(const std::function<bool()>& condition, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

bool HoldsFor(const std::function<bool()>& invariant, absl::Duration window) {
  const absl::Time end = absl::Now() + window;
  do {
    if (!invariant()) return false;
    absl::SleepFor(absl::Milliseconds(1));
  } while (absl::Now() < end);
  return invariant();
}

std::vector<std::vector<int>> ControlledRunner::batches() const {
  absl::MutexLock lock(&mu_);
  return batches_;
}

ServerConfig TestConfig() {
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.model = kModelDir;
  config.workers = 1;
  config.threads_per_worker = 1;
  config.max_queue_delay = absl::ZeroDuration();
  config.grace_period = absl::Seconds(10);
  config.drain_notice = absl::ZeroDuration();  // no health-checking client to wait for
  // Every test client is 127.0.0.1, i.e. one client: let it use the whole queue (limits_service_test.cc
  // covers the share).
  config.max_client_queue_share = 1.0;
  return config;
}

namespace {

TestServer Connect(std::unique_ptr<Server> server) {
  TestServer t;
  t.server = std::move(server);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  t.channel = grpc::CreateCustomChannel(t.server->address(), grpc::InsecureChannelCredentials(), args);
  t.stub = v1::EncoderService::NewStub(t.channel);
  return t;
}

}  // namespace

TestServer StartOnly(ServerConfig config) {
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(std::move(config));
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return TestServer{};
  return Connect(std::move(*server));
}

TestServer StartServing(ServerConfig config, std::unique_ptr<ServedModel> model,
                        std::unique_ptr<BatchRunner> runner) {
  TestServer t = StartOnly(std::move(config));
  if (t.server == nullptr) return t;
  if (model == nullptr) model = LoadTinyModel();
  absl::Status s = t.server->Serve(std::move(model), std::move(runner));
  EXPECT_TRUE(s.ok()) << s;
  return t;
}

double MetricValue(ServerMetrics* metrics, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(metrics->Scrape(), '\n')) {
    if (!absl::ConsumePrefix(&line, series) || !absl::ConsumePrefix(&line, " ")) continue;
    double value = -1;
    return absl::SimpleAtod(line, &value) ? value : -1;
  }
  return -1;
}

std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

v1::EncodeRequest IdsRequest(const std::vector<std::vector<int32_t>>& sequences) {
  v1::EncodeRequest request;
  for (size_t i = 0; i < sequences.size(); ++i) {
    v1::Input* input = request.add_inputs();
    input->set_id("seq" + std::to_string(i));
    v1::TokenIds* ids = input->mutable_ids();  // set even when empty
    for (int32_t id : sequences[i]) ids->add_ids(id);
  }
  return request;
}

}  // namespace testing_util
}  // namespace qkv

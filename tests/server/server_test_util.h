// Helpers for the in-process gRPC tests: the bundled model, a controllable runner around the real encoder,
// and servers on port 0.
#ifndef QKV_TESTS_SERVER_SERVER_TEST_UTIL_H_
#define QKV_TESTS_SERVER_SERVER_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include "server/batch_scheduler.h"
#include "server/observability/metrics.h"
#include "server/served_model.h"
#include "server/server.h"

namespace qkv {
namespace testing_util {

inline constexpr char kModelDir[] = QKV_SOURCE_DIR "/models/bert-tiny-random";
inline constexpr absl::Duration kWait = absl::Seconds(60);  // safety net against hangs only

// Loads the bundled bert-tiny-random (fails the test on error).
std::unique_ptr<ServedModel> LoadTinyModel();

// Runs the real encoder, but can be held closed (Run blocks until Open) and made to fail. Counts and
// records the batches it sees (first token id of each sequence).
class ControlledRunner : public BatchRunner {
 public:
  explicit ControlledRunner(const Encoder* encoder) : encoder_(encoder) {}
  std::unique_ptr<Workspace> NewWorkspace() const override { return encoder_->NewWorkspace(); }
  absl::Status Run(absl::Span<const SequenceInput> inputs, Workspace* workspace,
                   std::vector<SequenceOutput>* outputs) const override;

  void Close();
  void Open();
  void FailWith(absl::Status status);
  // Blocks until `n` Run calls have begun.
  void AwaitEntered(int n) const;
  std::vector<std::vector<int>> batches() const;

 private:
  const Encoder* encoder_;
  mutable absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  absl::Status fail_ ABSL_GUARDED_BY(mu_);
  mutable int entered_ ABSL_GUARDED_BY(mu_) = 0;
  mutable std::vector<std::vector<int>> batches_ ABSL_GUARDED_BY(mu_);
};

// A server on 127.0.0.1:0 with `config`'s limits (listen and model are overwritten).
struct TestServer {
  std::unique_ptr<Server> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::EncoderService::Stub> stub;
};
ServerConfig TestConfig();
// Started and serving the bundled model (through `runner` when given; it must wrap the model's encoder,
// so pass `model` too).
TestServer StartServing(ServerConfig config, std::unique_ptr<ServedModel> model = nullptr,
                        std::unique_ptr<BatchRunner> runner = nullptr);
// Started but not serving (still "loading").
TestServer StartOnly(ServerConfig config);

// Polls `condition` every millisecond until it holds (true) or `limit` passes (false). Use as
//   ASSERT_TRUE(WaitUntil([&] { return ...; })) << "what was awaited";
bool WaitUntil(const std::function<bool()>& condition, absl::Duration limit = kWait);
// Whether `invariant` holds at every check (every millisecond) for `window`; false at the first violation.
// For "nothing happens while work is held" checks, which no bounded wait can express.
bool HoldsFor(const std::function<bool()>& invariant, absl::Duration window);

// The value of `series` (a metric name with its labels exactly as exposed, e.g.
// `qkv_requests_total{code="OK",method="Encode"}`) in `metrics`' exposition; -1 when it is absent.
double MetricValue(ServerMetrics* metrics, const std::string& series);

// A client context with a 60 s deadline.
std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout = kWait);

// An Encode request for the given id sequences.
v1::EncodeRequest IdsRequest(const std::vector<std::vector<int32_t>>& sequences);

}  // namespace testing_util
}  // namespace qkv

#endif  // QKV_TESTS_SERVER_SERVER_TEST_UTIL_H_

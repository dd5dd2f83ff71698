#include "server/observability/call_observer.h"

namespace qkv {
namespace {

class NoopObserver final : public CallObserver {
 public:
  void CallStarted(absl::string_view) override {}
  void CallFinished(const CallRecord&) override {}
  void StreamOpened() override {}
  void StreamClosed() override {}
  void StreamCancelled() override {}
};

}  // namespace

CallObserver* NoopCallObserver() {
  static NoopObserver* const observer = new NoopObserver();
  return observer;
}

}  // namespace qkv

#include "server/encoder_service.h"

#include <google/protobuf/arena.h>

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/client_identity.h"
#include "server/encode_call.h"
#include "server/encode_stream_reactor.h"
#include "server/message_codec.h"
#include "server/observability/call_tracker.h"
#include "server/observability/request_id.h"
#include "server/proto_convert.h"
#include "server/status_mapping.h"

namespace qkv {
namespace {

// The call's deadline as absl::Time; InfiniteFuture when the caller set none.
absl::Time Deadline(const grpc::CallbackServerContext* context) {
  const std::chrono::system_clock::time_point deadline = context->deadline();
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

// Reserves room for a received request (the wire bytes and their parsed form) on the budget.
absl::StatusOr<ByteBudget::Reservation> ReserveRequest(ByteBudget* budget, const grpc::ByteBuffer& request) {
  return budget->Reserve(4 * static_cast<int64_t>(request.Length()));
}

// A unary call prepared on the preparation pool: Start() (on gRPC's thread) reserves the request's bytes
// and submits Run(); a refusal finishes the call through Done(). `request` and `wire_response` are gRPC's,
// valid until OnDone; the reactor lives until OnDone deletes it, after the Finish that only Run (or the
// refusal) leads to.
class PooledReactor : public grpc::ServerUnaryReactor {
 public:
  PooledReactor(EncoderService::Backend backend, std::string client, const grpc::ByteBuffer* request,
                grpc::ByteBuffer* wire_response, std::unique_ptr<CallTracker> tracker)
      : backend_(backend),
        client_(std::move(client)),
        tracker_(std::move(tracker)),
        request_(request),
        wire_response_(wire_response) {}

  // Nothing else on gRPC's thread. gRPC defers a Finish issued before the method returns the reactor, so
  // `this` stays valid here.
  void Start() {
    absl::StatusOr<ByteBudget::Reservation> reserved = ReserveRequest(backend_.budget, *request_);
    absl::Status status = reserved.status();
    if (status.ok()) {
      reservation_ = std::move(*reserved);
      status = backend_.pool->Submit(client_, [this] { Run(); });
    }
    if (!status.ok()) Done(status);
  }
  void OnDone() override { delete this; }

 protected:
  // On a preparation thread.
  virtual void Run() = 0;
  // Records and finishes the call with `status`.
  virtual void Done(absl::Status status) {
    tracker_->Finish(status);
    Finish(ToGrpcStatus(status));
  }

  const EncoderService::Backend backend_;
  const std::string client_;
  const std::unique_ptr<CallTracker> tracker_;
  const grpc::ByteBuffer* const request_;
  grpc::ByteBuffer* const wire_response_;
  ByteBudget::Reservation reservation_;  // released in OnDone, once gRPC is done with the buffers
};

// Encode: hands the request to the preparation pool, which parses it on an arena and starts an EncodeCall;
// serializes the response when the call finishes (on a scheduler worker).
class EncodeReactor final : public PooledReactor {
 public:
  EncodeReactor(EncoderService::Backend backend, absl::Time deadline, std::string client,
                const grpc::ByteBuffer* request, grpc::ByteBuffer* wire_response,
                std::unique_ptr<CallTracker> tracker)
      : PooledReactor(backend, client, request, wire_response, std::move(tracker)),
        call_(std::make_shared<EncodeCall>(backend, deadline, std::move(client), &response_, &reservation_,
                                           [this](const absl::Status& s) { Done(s); })) {}

  void OnCancel() override { call_->Cancel(); }

 private:
  void Run() override {
    if (call_->cancelled()) {
      Done(absl::CancelledError("cancelled by the caller"));
      return;
    }
    google::protobuf::Arena arena;
    auto* request = google::protobuf::Arena::CreateMessage<v1::EncodeRequest>(&arena);
    absl::Status status = ParseRequest(*request_, RequestParseLimits(*backend_.config), request);
    if (!status.ok()) {
      Done(status);
      return;
    }
    call_->Start(*request, static_cast<int64_t>(request_->Length()));
  }

  void Done(absl::Status status) override {
    if (status.ok()) status = SerializeResponse(response_, wire_response_);
    tracker_->SetExecution(call_->stats());
    tracker_->Finish(status);
    v1::EncodeResponse().Swap(&response_);  // frees the message; the answer is in wire_response_
    if (status.ok()) {
      // Shrinking never fails: the serialized response is held until gRPC has sent it.
      reservation_.Resize(static_cast<int64_t>(request_->Length() + wire_response_->Length())).IgnoreError();
    }
    Finish(ToGrpcStatus(status));
  }

  v1::EncodeResponse response_;  // filled by call_ before it calls Done
  const std::shared_ptr<EncodeCall> call_;
};

// Tokenize: parses, tokenizes and serializes on the preparation pool.
class TokenizeReactor final : public PooledReactor {
 public:
  using PooledReactor::PooledReactor;

 private:
  void Run() override {
    google::protobuf::Arena arena;
    auto* request = google::protobuf::Arena::CreateMessage<v1::TokenizeRequest>(&arena);
    auto* tokens = google::protobuf::Arena::CreateMessage<v1::TokenizeResponse>(&arena);
    absl::Status status = ParseRequest(*request_, RequestParseLimits(*backend_.config), request);
    if (status.ok()) status = qkv::Tokenize(*request, *backend_.model, tokens);
    if (status.ok()) status = SerializeResponse(*tokens, wire_response_);
    Done(status);
  }
};

// A unary reactor that only finishes with an error (UNAVAILABLE before the model is ready).
class ErrorReactor final : public grpc::ServerUnaryReactor {
 public:
  ErrorReactor(const absl::Status& status, std::unique_ptr<CallTracker> tracker) {
    tracker->Finish(status);
    Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace

ParseLimits RequestParseLimits(const ServerConfig& config) {
  ParseLimits limits;
  limits.max_string_bytes = config.max_text_bytes;
  limits.max_repeated_messages = config.max_batch_sequences;
  return limits;
}

EncoderService::EncoderService(const ServerConfig& config, CallObserver* observer,
                               const TokenAuthenticator* auth)
    : config_(config),
      observer_(observer != nullptr ? observer : NoopCallObserver()),
      auth_(auth),
      budget_(config.max_inflight_bytes),
      pool_(std::make_unique<PreparationPool>(config.prep_threads, config.max_prep_queue)) {}

EncoderService::~EncoderService() { StopPreparation(); }

absl::StatusOr<std::string> EncoderService::Caller(const grpc::CallbackServerContext& context) const {
  QKV_ASSIGN_OR_RETURN(std::string identity, CallerIdentity(context, auth_));
  // With tokens, a client is its token's name; without, its host (every connection from it counts once).
  return auth_ != nullptr ? identity : ClientKey(context);
}

void EncoderService::StopPreparation() { pool_->Shutdown(); }

void EncoderService::SetReady(const ServedModel* model, BatchScheduler* scheduler) {
  absl::MutexLock lock(&mu_);
  model_ = model;
  scheduler_ = scheduler;
  if (state_ == State::kLoading) state_ = State::kServing;
}

void EncoderService::StartDraining() {
  std::vector<Stream*> pinned;
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kDraining;
    for (const auto& [stream, entry] : streams_) {
      if (stream->PinForDrain()) pinned.push_back(stream);
    }
  }
  // Outside mu_: a stream may finish here, and its OnDone takes mu_ (RemoveStream). A pinned stream
  // stays alive until its DrainPinned.
  for (Stream* stream : pinned) stream->DrainPinned();
}

void EncoderService::RemoveStream(Stream* stream) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  if (it->second.counted) {
    --counted_streams_;
    auto per = streams_per_connection_.find(it->second.connection);
    if (per != streams_per_connection_.end() && --per->second == 0) streams_per_connection_.erase(per);
  }
  streams_.erase(it);
}

absl::StatusOr<EncoderService::Backend> EncoderService::Acquire() const { return AcquireImpl(false); }

absl::StatusOr<EncoderService::Backend> EncoderService::AcquireAccepted() const { return AcquireImpl(true); }

absl::StatusOr<EncoderService::Backend> EncoderService::AcquireImpl(bool draining_ok) const {
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kLoading:
      return absl::UnavailableError("the model is still loading; retry shortly");
    case State::kDraining:
      if (draining_ok && model_ != nullptr) break;  // drained before the model was ever ready: no backend
      return absl::UnavailableError("the server is shutting down; retry on another instance");
    case State::kServing:
      break;
  }
  return Backend{model_, scheduler_, &config_, pool_.get(), &budget_};
}

template <typename MakeReactor>
grpc::ServerUnaryReactor* EncoderService::StartPooled(const char* method,
                                                      grpc::CallbackServerContext* context,
                                                      MakeReactor make) {
  auto tracker = std::make_unique<CallTracker>(observer_, method, context);
  absl::StatusOr<std::string> caller = Caller(*context);  // access control first: nothing else without it
  if (!caller.ok()) return new ErrorReactor(caller.status(), std::move(tracker));
  absl::StatusOr<Backend> backend = Acquire();
  if (!backend.ok()) return new ErrorReactor(backend.status(), std::move(tracker));
  PooledReactor* reactor = make(*backend, *std::move(caller), std::move(tracker));
  reactor->Start();
  return reactor;
}

grpc::ServerUnaryReactor* EncoderService::Encode(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  return StartPooled("Encode", context, [&](const Backend& backend, std::string caller, auto tracker) {
    return new EncodeReactor(backend, Deadline(context), std::move(caller), request, response,
                             std::move(tracker));
  });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* EncoderService::EncodeStream(
    grpc::CallbackServerContext* context) {
  // Availability is checked per request (a stream may open while loading); the drain is pushed to every
  // open stream by StartDraining.
  StreamEntry entry{ConnectionKey(*context), false};
  const std::string stream_id = SettleRequestId(context);
  absl::StatusOr<std::string> caller = Caller(*context);
  absl::MutexLock lock(&mu_);
  absl::Status refuse;
  if (!caller.ok()) {
    refuse = caller.status();
  } else if (state_ == State::kDraining) {
    refuse = absl::UnavailableError(
        "server is shutting down; reconnect to another replica (every request this stream read has been "
        "answered; resend the others)");
  } else if (counted_streams_ >= config_.max_streams) {
    refuse = absl::ResourceExhaustedError(absl::StrCat("too many streams: ", counted_streams_,
                                                       " open (--max_streams=", config_.max_streams,
                                                       "); retry with backoff"));
  } else if (streams_per_connection_[entry.connection] >= config_.max_streams_per_connection) {
    refuse = absl::ResourceExhaustedError(absl::StrCat(
        "too many streams on this connection: ", streams_per_connection_[entry.connection],
        " open (--max_streams_per_connection=", config_.max_streams_per_connection,
        "); finish one or open another connection"));
  } else {
    entry.counted = true;
    ++counted_streams_;
    ++streams_per_connection_[entry.connection];
  }
  if (!entry.counted) {
    auto per = streams_per_connection_.find(entry.connection);
    if (per != streams_per_connection_.end() && per->second == 0) streams_per_connection_.erase(per);
  }
  ReturnRequestId(context, stream_id, refuse);  // an open stream's id goes out with its first answer
  auto* reactor = new EncodeStreamReactor(this, Deadline(context), caller.ok() ? *caller : "", refuse,
                                          context->peer(), stream_id);
  streams_.emplace(reactor, std::move(entry));
  return reactor;
}

grpc::ServerUnaryReactor* EncoderService::Tokenize(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  return StartPooled("Tokenize", context, [&](const Backend& backend, std::string caller, auto tracker) {
    return new TokenizeReactor(backend, std::move(caller), request, response, std::move(tracker));
  });
}

grpc::ServerUnaryReactor* EncoderService::GetModelInfo(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallTracker tracker(observer_, "GetModelInfo", context);
  absl::Status status = Caller(*context).status();  // access control first
  absl::StatusOr<Backend> backend = Acquire();
  if (status.ok()) status = backend.status();
  v1::GetModelInfoRequest parsed;
  v1::GetModelInfoResponse info;
  if (status.ok()) status = ParseRequest(*request, RequestParseLimits(config_), &parsed);
  if (status.ok()) {
    FillModelInfo(*backend->model, *backend->config, &info);
    status = SerializeResponse(info, response);
  }
  tracker.Finish(status);
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace qkv

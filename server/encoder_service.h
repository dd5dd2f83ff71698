// EncoderService: the qkv.v1.EncoderService implementation on gRPC's callback API.
//
// Reactors stay thin and never compute or block: on gRPC's thread they only reserve the request's bytes
// on the server-wide ByteBudget and hand the request to the PreparationPool, whose threads parse it
// (message_codec.h: limits checked on the wire first, then one parse on an Arena), validate and tokenize it
// (proto_convert.h) and Submit it to the BatchScheduler (encode_call.h); they Finish from the scheduler's
// done callback (on a worker thread). Encode's reactor cancels its queued job when the call is cancelled
// or its deadline passes. EncodeStream (encode_stream_reactor.h) keeps at most max_stream_in_flight
// requests in flight, writes the answers in request order, and reads the next request only when its
// window has room and its unread answers hold less than an eighth of the byte budget (backpressure); at
// most max_streams_per_connection streams per connection and max_streams in all are open.
// GetModelInfo answers on gRPC's thread (it is small and constant).
//
// Until SetReady() every RPC answers UNAVAILABLE ("loading"); after StartDraining() new calls answer
// UNAVAILABLE ("shutting down") while calls already running finish. Every open EncodeStream stops reading
// at StartDraining(), answers the requests it has already read (in order, computed as usual), and then
// ends with UNAVAILABLE ("server is shutting down; reconnect to another replica"): the client resends
// the requests that got no answer elsewhere, and an idle stream does not hold the drain up.
//
// Every method is a raw callback method: requests arrive as bytes and are parsed here (message_codec.h),
// so that a request protobuf cannot parse (e.g. a string field holding invalid UTF-8) is answered
// INVALID_ARGUMENT naming the field, and inside EncodeStream gets its own error response while the stream
// goes on. (gRPC's typed handlers answer UNIMPLEMENTED with no message, or end the stream's reads.)
//
// Thread safety: all methods may be called from any thread.
#ifndef QKV_SERVER_ENCODER_SERVICE_H_
#define QKV_SERVER_ENCODER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "qkv/v1/encoder.grpc.pb.h"
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "server/auth.h"
#include "server/batch_scheduler.h"
#include "server/byte_budget.h"
#include "server/message_codec.h"
#include "server/observability/call_observer.h"
#include "server/prep_pool.h"
#include "server/served_model.h"
#include "server/server_config.h"

namespace qkv {

// qkv.v1.EncoderService with all four methods taking and returning grpc::ByteBuffer.
using RawEncoderServiceBase = v1::EncoderService::WithRawCallbackMethod_Encode<
    v1::EncoderService::WithRawCallbackMethod_EncodeStream<v1::EncoderService::WithRawCallbackMethod_Tokenize<
        v1::EncoderService::WithRawCallbackMethod_GetModelInfo<v1::EncoderService::Service>>>>;

class EncoderService final : public RawEncoderServiceBase {
 public:
  // `config` is copied; its limits apply to every request. Starts the preparation threads. `observer`
  // (not owned, must outlive the service; null = NoopCallObserver) hears of every request: in flight,
  // answered, and its figures. `auth` (not owned, may be null = no access control) must outlive every
  // call: with it, every method answers UNAUTHENTICATED, and does nothing else, unless the call carries a
  // valid bearer token; the token's name is then the client identity for fairness.
  explicit EncoderService(const ServerConfig& config, CallObserver* observer = nullptr,
                          const TokenAuthenticator* auth = nullptr);
  ~EncoderService() override;

  // Starts serving `model` through `scheduler`. Both are not owned and must outlive every call (the
  // Server shuts gRPC down before destroying them).
  void SetReady(const ServedModel* model, BatchScheduler* scheduler);
  // New calls get UNAVAILABLE from now on; unary calls in flight are unaffected; open streams stop
  // reading, answer what they have read and end with UNAVAILABLE. Does not block on the streams.
  void StartDraining();
  // Runs the preparation tasks still queued and joins the pool. Call after gRPC has shut down (no call
  // left to hand work over) and before the scheduler shuts down (prepared requests are submitted to it).
  void StopPreparation();

  // The model and scheduler, or UNAVAILABLE while loading or draining. Used by the reactors.
  struct Backend {
    const ServedModel* model;
    BatchScheduler* scheduler;
    const ServerConfig* config;
    PreparationPool* pool;
    ByteBudget* budget;
  };
  absl::StatusOr<Backend> Acquire() const;
  // Like Acquire, but also while draining: for a request a stream read before it saw the drain.
  absl::StatusOr<Backend> AcquireAccepted() const;

  // An open EncodeStream, as the service sees it to tell it that draining has begun. Lock order: the
  // service's lock, then the stream's; a stream never calls the service while holding its own lock.
  class Stream {
   public:
    virtual ~Stream() = default;
    // Called under the service's lock. Marks the stream draining (it starts no new read) and returns
    // true if it has not finished yet; it then stays alive (it does not finish) until DrainPinned().
    virtual bool PinForDrain() = 0;
    // Called without the service's lock, once after PinForDrain returned true: acts on the drain
    // (finishes the stream when nothing is left to answer) and releases the pin. May delete the stream.
    virtual void DrainPinned() = 0;
  };
  // Forgets `stream`. Called by the stream reactor as it is deleted; a stream is registered by
  // EncodeStream() when it is created.
  void RemoveStream(Stream* stream);

  // The server-wide byte budget (also while loading: a stream may read before the model is ready).
  ByteBudget* budget() { return &budget_; }
  PreparationPool* pool() { return pool_.get(); }
  const ServerConfig& config() const { return config_; }
  CallObserver* observer() const { return observer_; }

  // `request` holds a serialized v1::EncodeRequest; `response` gets the v1::EncodeResponse.
  grpc::ServerUnaryReactor* Encode(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  // Reads v1::EncodeStreamRequest, writes v1::EncodeStreamResponse.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* EncodeStream(
      grpc::CallbackServerContext* context) override;
  // v1::TokenizeRequest -> v1::TokenizeResponse.
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  // v1::GetModelInfoRequest -> v1::GetModelInfoResponse.
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;

 private:
  enum class State { kLoading, kServing, kDraining };

  absl::StatusOr<Backend> AcquireImpl(bool draining_ok) const;
  // The client key for fairness: the token's name when auth is on (auth.h CallerIdentity), else the
  // peer host (client_identity.h ClientKey); UNAUTHENTICATED without a valid token.
  absl::StatusOr<std::string> Caller(const grpc::CallbackServerContext& context) const;
  // The preamble of the pooled unary methods (Encode, Tokenize): a CallTracker for `method`, access control
  // (Caller), then Acquire; on success the reactor make(backend, caller, tracker) returns, started.
  template <typename MakeReactor>
  grpc::ServerUnaryReactor* StartPooled(const char* method, grpc::CallbackServerContext* context,
                                        MakeReactor make);

  struct StreamEntry {
    std::string connection;  // ConnectionKey
    bool counted = false;    // counts against the caps (refused streams do not)
  };

  const ServerConfig config_;
  CallObserver* const observer_;
  const TokenAuthenticator* const auth_;
  mutable ByteBudget budget_;  // thread-safe; handed out by the const Acquire
  const std::unique_ptr<PreparationPool> pool_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kLoading;
  const ServedModel* model_ ABSL_GUARDED_BY(mu_) = nullptr;
  BatchScheduler* scheduler_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::flat_hash_map<Stream*, StreamEntry> streams_ ABSL_GUARDED_BY(mu_);  // open EncodeStreams, not owned
  absl::flat_hash_map<std::string, int> streams_per_connection_ ABSL_GUARDED_BY(mu_);
  int counted_streams_ ABSL_GUARDED_BY(mu_) = 0;
};

// The wire limits every request is parsed with: --max_text_bytes for strings, --max_batch_sequences for
// the elements of a repeated message field (EncodeRequest.inputs).
ParseLimits RequestParseLimits(const ServerConfig& config);

}  // namespace qkv

#endif  // QKV_SERVER_ENCODER_SERVICE_H_

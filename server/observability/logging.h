// The process's logs (spdlog): startup, shutdown and error lines, and the optional access log.
//
//   InitLogging(LogFormat::kJson, spdlog::level::info, /*access_log=*/true);   // once, in main
//   spdlog::info("listening on {}", address);                                  // anywhere after
//   LogAccess(record);                                                         // one line per request
//
// Lines below warn go to stdout, warn and above to stderr; each line is flushed as it is written (so a
// pipe reader sees the startup line at once). Formats:
//   text: 2026-12-01T10:00:00.123Z info listening on 127.0.0.1:50051 ...
//   json: {"time":"2026-12-01T10:00:00.123Z","level":"info","logger":"qkv","msg":"listening on ..."}
// Access lines (logger "access", level info) carry fields instead of a message:
//   text: 2026-...Z info access method=Encode peer=ipv4:127.0.0.1:5000 request_id=ab12 code=OK
//         sequences=2 tokens=14 queue_ms=0.41 compute_ms=1.20 total_ms=1.95
//   json: {"time":"...","level":"info","logger":"access","method":"Encode","peer":"...",
//          "request_id":"ab12","code":"OK","sequences":2,"tokens":14,"queue_ms":0.41,"compute_ms":1.2,
//          "total_ms":1.95}
// Access lines are written whenever the access log is on, whatever the level. Before InitLogging (e.g. in
// unit tests) spdlog's default logger is used and the access log is off. InitLogging may be called again
// (main calls it once with defaults, then with the flags' values).
//
// Thread safety: InitLogging once, before other threads log; everything else from any thread.
#ifndef QKV_SERVER_OBSERVABILITY_LOGGING_H_
#define QKV_SERVER_OBSERVABILITY_LOGGING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/observability/call_observer.h"
#include "spdlog/spdlog.h"

namespace qkv {

enum class LogFormat { kText, kJson };

// "text" or "json"; InvalidArgument naming --log_format otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);
// "trace", "debug", "info", "warn" (or "warning"), "error", "critical" or "off"; InvalidArgument naming
// --log_level. (Lines print the level as spdlog names it: "warning" for warn.)
absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(absl::string_view name);

// Installs the "qkv" logger as spdlog's default and the "access" logger (enabled by `access_log`).
void InitLogging(LogFormat format, spdlog::level::level_enum level, bool access_log);

// Writes the access line of `record` when the access log is on.
void LogAccess(const CallRecord& record);

// The access line's payload (what follows the logger name in text; the members after "logger" in JSON).
// Exposed for tests.
std::string FormatAccessFields(const CallRecord& record, LogFormat format);

// `text` as a JSON string literal body (quotes not included): ", \ and control characters escaped; invalid
// UTF-8 bytes become U+FFFD.
std::string JsonEscape(absl::string_view text);

}  // namespace qkv

#endif  // QKV_SERVER_OBSERVABILITY_LOGGING_H_

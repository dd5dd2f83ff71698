#include "server/observability/logging.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/base_sink.h"

namespace qkv {
namespace {

constexpr char kAccessLogger[] = "access";

std::atomic<bool> access_log_on{false};
std::atomic<LogFormat> log_format{LogFormat::kText};

// Lines below warn to stdout, the rest to stderr; flushed per line.
class ConsoleSplitSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    FILE* out = msg.level >= spdlog::level::warn ? stderr : stdout;
    std::fwrite(line.data(), 1, line.size(), out);
    std::fflush(out);
  }
  void flush_() override {
    std::fflush(stdout);
    std::fflush(stderr);
  }
};

// %* in a pattern: the message, JSON-escaped.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string escaped = JsonEscape(absl::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::unique_ptr<spdlog::formatter> MakeFormatter(LogFormat format, bool access) {
  constexpr char kTime[] = "%Y-%m-%dT%H:%M:%S.%eZ";
  std::string pattern;
  if (format == LogFormat::kText) {
    pattern = absl::StrCat(kTime, access ? " %l access %v" : " %l %v");
  } else if (access) {
    pattern = absl::StrCat("{\"time\":\"", kTime, "\",\"level\":\"%l\",\"logger\":\"access\",%v}");
  } else {
    pattern = absl::StrCat("{\"time\":\"", kTime, "\",\"level\":\"%l\",\"logger\":\"qkv\",\"msg\":\"%*\"}");
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc, "\n");
  formatter->add_flag<JsonMessageFlag>('*').set_pattern(pattern);
  return formatter;
}

std::string Ms(absl::Duration d) { return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(d)); }

}  // namespace

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(absl::StrCat("--log_format must be text or json (got \"", name, "\")"));
}

absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(absl::string_view name) {
  if (name == "warn") return spdlog::level::warn;  // spdlog's own name is "warning"
  for (int l = spdlog::level::trace; l < spdlog::level::n_levels; ++l) {
    const auto level = static_cast<spdlog::level::level_enum>(l);
    const spdlog::string_view_t level_name = spdlog::level::to_string_view(level);
    if (name == absl::string_view(level_name.data(), level_name.size())) return level;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--log_level must be one of trace, debug, info, warn, error, critical, off (got \"", name, "\")"));
}

void InitLogging(LogFormat format, spdlog::level::level_enum level, bool access_log) {
  auto main_sink = std::make_shared<ConsoleSplitSink>();
  main_sink->set_formatter(MakeFormatter(format, /*access=*/false));
  auto main_logger = std::make_shared<spdlog::logger>("qkv", main_sink);
  main_logger->set_level(level);
  spdlog::set_default_logger(main_logger);

  auto access_sink = std::make_shared<ConsoleSplitSink>();
  access_sink->set_formatter(MakeFormatter(format, /*access=*/true));
  auto access_logger = std::make_shared<spdlog::logger>(kAccessLogger, access_sink);
  access_logger->set_level(spdlog::level::info);
  spdlog::drop(kAccessLogger);
  spdlog::register_logger(access_logger);

  log_format.store(format);
  access_log_on.store(access_log);
}

std::string FormatAccessFields(const CallRecord& r, LogFormat format) {
  const std::string code = absl::StatusCodeToString(r.code);
  if (format == LogFormat::kText) {
    // The peer and request id hold no spaces (request_id.h; gRPC peers are URIs).
    return absl::StrCat("method=", r.method, " peer=", r.peer, " request_id=", r.request_id, " code=", code,
                        " sequences=", r.sequences, " tokens=", r.tokens, " queue_ms=", Ms(r.queue),
                        " compute_ms=", Ms(r.compute), " total_ms=", Ms(r.total));
  }
  return absl::StrCat("\"method\":\"", JsonEscape(r.method), "\",\"peer\":\"", JsonEscape(r.peer),
                      "\",\"request_id\":\"", JsonEscape(r.request_id), "\",\"code\":\"", code,
                      "\",\"sequences\":", r.sequences, ",\"tokens\":", r.tokens,
                      ",\"queue_ms\":", Ms(r.queue), ",\"compute_ms\":", Ms(r.compute),
                      ",\"total_ms\":", Ms(r.total));
}

void LogAccess(const CallRecord& record) {
  if (!access_log_on.load(std::memory_order_relaxed)) return;
  std::shared_ptr<spdlog::logger> logger = spdlog::get(kAccessLogger);
  if (logger == nullptr) return;
  logger->info("{}", FormatAccessFields(record, log_format.load(std::memory_order_relaxed)));
}

std::string JsonEscape(absl::string_view text) {
  const std::string quoted =
      nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace qkv

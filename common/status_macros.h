// Error-propagation macros for absl::Status / absl::StatusOr (Debian's Abseil 20220623 has none).
//
//   QKV_RETURN_IF_ERROR(DoThing());             // returns the Status if it is not OK
//   QKV_ASSIGN_OR_RETURN(Foo foo, MakeFoo());   // declares/assigns, or returns the error
#ifndef QKV_COMMON_STATUS_MACROS_H_
#define QKV_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define QKV_RETURN_IF_ERROR(expr)                                \
  do {                                                           \
    ::absl::Status qkv_status_internal_ = (expr);                \
    if (!qkv_status_internal_.ok()) return qkv_status_internal_; \
  } while (0)

#define QKV_STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define QKV_STATUS_MACROS_CONCAT_(x, y) QKV_STATUS_MACROS_CONCAT_INNER_(x, y)

#define QKV_ASSIGN_OR_RETURN(lhs, expr) \
  QKV_ASSIGN_OR_RETURN_IMPL_(QKV_STATUS_MACROS_CONCAT_(qkv_statusor_, __LINE__), lhs, expr)

#define QKV_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)    \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // QKV_COMMON_STATUS_MACROS_H_

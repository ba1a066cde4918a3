/*
 * util/log.h - one key=value line per event on stderr.
 *
 * Owns: the log level, the per-thread request id, line formatting.
 * Lines look like:
 *   ts=2026-11-21T19:40:01.123Z level=info pid=123 rid=5f2c... src=mcp/server.c:88 msg="..." k=v
 * Callers pass the message as a printf format; values that come from a
 * client must go through log_quote() style %s of already-safe strings.
 * Never log the Authorization header, tokens, codes, passwords, secrets,
 * session ids or request bodies.
 */
#ifndef MG_UTIL_LOG_H
#define MG_UTIL_LOG_H

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the process-wide level. Cannot fail. */
void log_set_level(enum log_level level);

/* Parses "error", "warn", "info" or "debug". Returns 0 and writes *out, or -1. */
__attribute__((warn_unused_result)) int log_level_parse(const char *s, enum log_level *out);

/* Sets the request id shown on this thread's lines (copied; NULL clears). */
void log_set_request_id(const char *rid);

/* Returns this thread's request id ("-" when none). Borrowed until the next
 * log_set_request_id() on this thread. */
const char *log_request_id(void);

int log_enabled(enum log_level level);

__attribute__((format(printf, 4, 5))) void log_write(enum log_level level, const char *file,
                                                     int line, const char *fmt, ...);

#define LOG_ERROR(...) log_write(LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_WARN(...)  log_write(LOG_LEVEL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_INFO(...)  log_write(LOG_LEVEL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_DEBUG(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_LEVEL_DEBUG))                                                          \
            log_write(LOG_LEVEL_DEBUG, __FILE__, __LINE__, __VA_ARGS__);                           \
    } while (0)

#endif

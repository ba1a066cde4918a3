/*
 * util/log.c - one key=value line per event on stderr.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int current_level = LOG_LEVEL_INFO;
static _Thread_local char request_id[40];

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
    current_level = (int)level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_request_id(const char *rid)
{
    if (!rid) {
        request_id[0] = '\0';
        return;
    }
    size_t n = strlen(rid);
    if (n >= sizeof request_id)
        n = sizeof request_id - 1;
    memcpy(request_id, rid, n);
    request_id[n] = '\0';
}

const char *log_request_id(void)
{
    return request_id[0] ? request_id : "-";
}

int log_enabled(enum log_level level)
{
    return (int)level <= current_level;
}

/* Strips the build's directory prefix so lines say "mcp/server.c". */
static const char *short_path(const char *file)
{
    const char *p = strstr(file, "src/");
    return p ? p + 4 : file;
}

void log_write(enum log_level level, const char *file, int line, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* one line per event: no raw newlines even if a caller slipped one in */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    /* one fprintf call, so lines from threads do not interleave */
    fprintf(stderr, "mcpgate: ts=%s.%03ldZ level=%s pid=%ld rid=%s src=%s:%d %s\n", ts,
            (long)(tv.tv_usec / 1000), level_names[level], (long)getpid(), log_request_id(),
            short_path(file), line, msg);
}

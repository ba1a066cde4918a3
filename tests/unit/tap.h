/*
 * tests/unit/tap.h - a minimal TAP producer for the C unit tests.
 *
 *   ok(cond, "description %d", x);   is_str(got, want, "description");
 *   return tap_done();               prints the plan; exit status 1 on failure
 */
#ifndef MG_TESTS_TAP_H
#define MG_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!cond)
        tap_failed++;
    return cond;
}

__attribute__((unused)) static int is_str(const char *got, const char *want, const char *what)
{
    int same = got && want ? strcmp(got, want) == 0 : got == want;
    if (!ok(same, "%s", what))
        printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)", want ? want : "(null)");
    return same;
}

__attribute__((unused)) static int is_int(long long got, long long want, const char *what)
{
    if (!ok(got == want, "%s", what))
        printf("#   got:  %lld\n#   want: %lld\n", got, want);
    return got == want;
}

__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif

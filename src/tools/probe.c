/*
 * tools/probe.c - one timed HTTP request for `mcpgate doctor`.
 */
#include "tools/probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/time.h"

struct probe_state {
    struct tool_probe_res *res;
    struct timespec t0;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct probe_state *st = arg;
    size_t len = size * n;
    if (len > 0 && st->res->first_body_ms < 0)
        st->res->first_body_ms = mg_since_ms(&st->t0);
    size_t room = TOOL_PROBE_BODY_MAX - st->res->body.len;
    if (buf_append(&st->res->body, p, len < room ? len : room) < 0)
        return 0;
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct probe_state *st = arg;
    size_t len = size * n;
    /* a new status line (after a 100 Continue or a redirect) starts over */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
        buf_reset(&st->res->head);
    if (buf_append(&st->res->head, p, len) < 0)
        return 0;
    return len;
}

int tool_probe_run(const struct tool_probe_req *req, struct tool_probe_res *res)
{
    memset(res, 0, sizeof *res);
    res->first_body_ms = -1;
    res->head.limit = 64 * 1024;
    res->body.limit = TOOL_PROBE_BODY_MAX;
    struct probe_state st = {.res = res};
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(res->error, sizeof res->error, "could not start libcurl");
        return -1;
    }
    struct curl_slist *hdrs = NULL;
    for (const char *const *l = req->headers; l && *l; l++)
        hdrs = curl_slist_append(hdrs, *l);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "GET");
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, req->insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, req->insecure ? 0L : 2L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mcpgate-doctor");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
    clock_gettime(CLOCK_MONOTONIC, &st.t0);
    CURLcode rc = curl_easy_perform(h);
    res->total_ms = mg_since_ms(&st.t0);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    if (rc != CURLE_OK)
        snprintf(res->error, sizeof res->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc == CURLE_OK ? 0 : -1;
}

const char *tool_probe_header(const struct tool_probe_res *res, const char *name, char *out,
                              size_t n)
{
    size_t nl = strlen(name);
    const char *p = buf_str(&res->head);
    for (; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
        if (strncasecmp(p, name, nl) != 0 || p[nl] != ':')
            continue;
        const char *v = p + nl + 1;
        v += strspn(v, " \t");
        size_t len = strcspn(v, "\r\n");
        if (n == 0)
            return NULL;
        if (len >= n)
            len = n - 1;
        memcpy(out, v, len);
        out[len] = '\0';
        return out;
    }
    return NULL;
}

void tool_probe_res_free(struct tool_probe_res *res)
{
    buf_free(&res->head);
    buf_free(&res->body);
}

/*
 * tools/fetch.c - one outbound HTTP request of mcpgate's own.
 */
#include "tools/fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "util/buf.h"
#include "util/net.h"

struct fetch_state {
    struct buf *body;
    int allow_private;
    int refused;
};

static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct fetch_state *f = arg;
    (void)purpose;
    if (!f->allow_private && net_addr_private(&a->addr)) {
        f->refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct fetch_state *f = arg;
    return buf_append(f->body, p, size * n) == 0 ? size * n : 0;
}

int tool_fetch(const struct tool_fetch_req *req, struct buf *body, long *status, int *refused)
{
    struct fetch_state f = {.body = body, .allow_private = req->allow_private};
    *status = 0;
    *refused = 0;
    CURL *h = curl_easy_init();
    if (!h)
        return CURLE_FAILED_INIT;
    struct curl_slist *hdr = NULL;
    for (const char *const *l = req->headers; l && *l; l++)
        hdr = curl_slist_append(hdr, *l);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, req->allow_private ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    if (req->connect_timeout_ms)
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (req->max_file_size)
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE, req->max_file_size);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &f);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
    if (req->on_header) {
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, req->on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, req->header_arg);
    }
    curl_easy_setopt(h, CURLOPT_USERAGENT, req->user_agent);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (req->form)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->form);
    if (req->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, req->password);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    for (struct curl_slist *l = hdr; l; l = l->next) /* a header may carry a secret */
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(hdr);
    *refused = f.refused;
    return (int)rc;
}

/*
 * mod_@@name@@: an HTML page listing every request header, for requests whose
 * handler is "@@name@@" (`SetHandler @@name@@` in a <Location>).
 * Written for the Apache 1.3 module API (handler_rec table, STANDARD_MODULE_STUFF).
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

struct page {
    request_rec *r;
    const char *rows;
};

/* ap_table_do passes our page back as void*; returning 1 continues the walk. */
static int add_header_row(void *rec, const char *key, const char *value)
{
    struct page *p = (struct page *)rec;
    p->rows = ap_pstrcat(p->r->pool, p->rows, "<tr><th>", ap_escape_html(p->r->pool, key),
                         "</th><td>", ap_escape_html(p->r->pool, value), "</td></tr>\n", NULL);
    return 1;
}

/* Every page goes out with a Content-Length: without one, 1.3 chunks an
 * HTTP/1.1 response and pads the chunk sizes with spaces ("12 \r\n"), which
 * strict clients (Node's http parser, so apxs-ts ctl's health check) reject. */
static int @@name@@_handler(request_rec *r)
{
    struct page p;
    const char *html;

    p.r = r;
    p.rows = "";
    ap_table_do(add_header_row, &p, r->headers_in, NULL);
    html = ap_pstrcat(r->pool,
        "<!DOCTYPE html>\n<html><head><title>mod_@@name@@</title></head><body>\n",
        "<h1>Request headers for ", ap_escape_html(r->pool, r->uri), "</h1>\n<table>\n",
        p.rows, "</table>\n</body></html>\n", NULL);

    r->content_type = "text/html";
    ap_set_content_length(r, (long)strlen(html));
    ap_send_http_header(r);
    if (!r->header_only)
        ap_rputs(html, r);
    return OK;
}

/* Asked about every request no exact match took (the wildcard entry below):
 * says at debug level that it is not ours. */
static int @@name@@_decline(request_rec *r)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG|APLOG_NOERRNO, r, "handling declined: %s",
                  r->handler ? r->handler : r->content_type ? r->content_type : "(no handler)");
    return DECLINED;
}

/* 1.3 has no handler hook: it calls the handlers whose name matches the
 * request's handler (SetHandler) or content type, exact names first, then
 * wildcards; a module loaded later is asked before the core's own wildcard. */
static const handler_rec @@name@@_handlers[] = {
    { "@@name@@", @@name@@_handler },
    { "*/*", @@name@@_decline },
    { NULL, NULL }
};

module MODULE_VAR_EXPORT @@name@@_module = {
    STANDARD_MODULE_STUFF,
    NULL,               /* module initializer */
    NULL,               /* per-directory config creator */
    NULL,               /* per-directory config merger */
    NULL,               /* per-server config creator */
    NULL,               /* per-server config merger */
    NULL,               /* directives */
    @@name@@_handlers,  /* content handlers */
    NULL,               /* URI-to-filename translation */
    NULL,               /* check user id */
    NULL,               /* check auth */
    NULL,               /* check access */
    NULL,               /* type checker */
    NULL,               /* fixups */
    NULL,               /* logger */
    NULL,               /* header parser */
    NULL,               /* child init */
    NULL,               /* child exit */
    NULL                /* post read-request */
};

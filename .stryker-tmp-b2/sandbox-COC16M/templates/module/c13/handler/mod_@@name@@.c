/*
 * mod_@@name@@: a content handler. It answers requests whose handler is
 * "@@name@@" (set by `SetHandler @@name@@` in a <Location>) with an HTML page
 * describing the request, and declines everything else with a debug log line.
 * Written for the Apache 1.3 module API (handler_rec table, STANDARD_MODULE_STUFF).
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

static const char *html(request_rec *r, const char *s)
{
    return s ? ap_escape_html(r->pool, s) : "(none)";
}

/* Every page goes out with a Content-Length: without one, 1.3 chunks an
 * HTTP/1.1 response and pads the chunk sizes with spaces ("12 \r\n"), which
 * strict clients (Node's http parser, so apxs-ts ctl's health check) reject. */
static int @@name@@_handler(request_rec *r)
{
    const char *page = ap_psprintf(r->pool,
        "<!DOCTYPE html>\n<html><head><title>mod_@@name@@</title></head><body>\n"
        "<h1>mod_@@name@@</h1>\n<dl>\n"
        "<dt>handler</dt><dd>%s</dd>\n"
        "<dt>filename</dt><dd>%s</dd>\n"
        "<dt>the_request</dt><dd>%s</dd>\n"
        "<dt>header_only</dt><dd>%d</dd>\n"
        "<dt>hostname</dt><dd>%s</dd>\n"
        "</dl>\n</body></html>\n",
        html(r, r->handler), html(r, r->filename), html(r, r->the_request),
        r->header_only, html(r, r->hostname));

    r->content_type = "text/html";
    ap_set_content_length(r, (long)strlen(page));
    ap_send_http_header(r);
    if (!r->header_only)
        ap_rputs(page, r);
    return OK;
}

/* Asked about every request no exact match took (1.3 calls it for the
 * wildcard entry below): says at debug level that it is not ours. Without a
 * SetHandler, 1.3 dispatches on the content type, r->handler stays NULL. */
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

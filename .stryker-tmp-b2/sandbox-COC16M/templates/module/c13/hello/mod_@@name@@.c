/*
 * mod_@@name@@: answers every request with one line of plain text.
 * Written for the Apache 1.3 module API (handler_rec table, STANDARD_MODULE_STUFF).
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"

/* Every request is ours, except one that a SetHandler gave to another module
 * by name (1.3 leaves r->handler NULL unless SetHandler or AddHandler set it;
 * a content type contains '/'). */
static int given_to_another_module(const request_rec *r)
{
    const char *h = r->handler;
    return h && *h && strcmp(h, "@@name@@") != 0 && strcmp(h, "default-handler") != 0 && !strchr(h, '/');
}

/* Every page goes out with a Content-Length: without one, 1.3 chunks an
 * HTTP/1.1 response and pads the chunk sizes with spaces ("12 \r\n"), which
 * strict clients (Node's http parser, so apxs-ts ctl's health check) reject. */
static int @@name@@_handler(request_rec *r)
{
    static const char text[] = "Hello from mod_@@name@@\n";

    if (given_to_another_module(r))
        return DECLINED;

    r->content_type = "text/plain";
    ap_set_content_length(r, sizeof text - 1);
    ap_send_http_header(r);
    if (!r->header_only)
        ap_rputs(text, r);
    return OK;
}

/* 1.3 has no handler hook: it calls the handlers whose name matches the
 * request's handler or content type. The wildcard entry matches every
 * request, after the exact matches (mod_dir's directories, SetHandler names)
 * and before the core's own wildcard (a module loaded later is asked first). */
static const handler_rec @@name@@_handlers[] = {
    { "*/*", @@name@@_handler },
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

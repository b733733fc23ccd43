/*
 * mod_@@name@@: an HTML page listing every request header, for requests whose
 * handler is "@@name@@" (`SetHandler @@name@@` in a <Location>).
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_tables.h"
#ifdef APLOG_USE_MODULE /* 2.4 names the module in its log lines; 2.0 and 2.2 have no such macro */
APLOG_USE_MODULE(@@name@@);
#endif

/* apr_table_do passes our request back as void*; returning 1 continues the walk. */
static int add_header_row(void *rec, const char *key, const char *value)
{
    request_rec *r = (request_rec *)rec;
    ap_rprintf(r, "<tr><th>%s</th><td>%s</td></tr>\n",
               ap_escape_html(r->pool, key), ap_escape_html(r->pool, value));
    return 1;
}

static int @@name@@_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "@@name@@") != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "handling declined: %s",
                      r->handler ? r->handler : "(no handler)");
        return DECLINED;
    }

    ap_set_content_type(r, "text/html");
    if (r->header_only)
        return OK;

    ap_rputs("<!DOCTYPE html>\n<html><head><title>mod_@@name@@</title></head><body>\n", r);
    ap_rprintf(r, "<h1>Request headers for %s</h1>\n<table>\n", ap_escape_html(r->pool, r->uri));
    apr_table_do(add_header_row, r, r->headers_in, NULL);
    ap_rputs("</table>\n</body></html>\n", r);
    return OK;
}

static void @@name@@_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(@@name@@_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA @@name@@_module = {
    STANDARD20_MODULE_STUFF,
    NULL, /* per-directory config creator */
    NULL, /* per-directory config merger */
    NULL, /* per-server config creator */
    NULL, /* per-server config merger */
    NULL, /* directives */
    @@name@@_register_hooks
};

/*
 * mod_@@name@@: a content handler. It answers requests whose handler is
 * "@@name@@" (set by `SetHandler @@name@@` in a <Location>) with an HTML page
 * describing the request, and declines everything else with a debug log line.
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#ifdef APLOG_USE_MODULE /* 2.4 names the module in its log lines; 2.0 and 2.2 have no such macro */
APLOG_USE_MODULE(@@name@@);
#endif

static const char *html(request_rec *r, const char *s)
{
    return s ? ap_escape_html(r->pool, s) : "(none)";
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
    ap_rputs("<h1>mod_@@name@@</h1>\n<dl>\n", r);
    ap_rprintf(r, "<dt>handler</dt><dd>%s</dd>\n", html(r, r->handler));
    ap_rprintf(r, "<dt>filename</dt><dd>%s</dd>\n", html(r, r->filename));
    ap_rprintf(r, "<dt>the_request</dt><dd>%s</dd>\n", html(r, r->the_request));
    ap_rprintf(r, "<dt>header_only</dt><dd>%d</dd>\n", r->header_only);
    ap_rprintf(r, "<dt>hostname</dt><dd>%s</dd>\n", html(r, r->hostname));
    ap_rputs("</dl>\n</body></html>\n", r);
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

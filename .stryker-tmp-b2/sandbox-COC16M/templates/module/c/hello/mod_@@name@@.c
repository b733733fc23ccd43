/*
 * mod_@@name@@: answers every request with one line of plain text.
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "ap_config.h"

/* Every request is ours, except one that a SetHandler gave to another module
 * by name. Without a SetHandler, r->handler is empty, "default-handler" or a
 * content type (which contains '/'). */
static int given_to_another_module(const request_rec *r)
{
    const char *h = r->handler;
    return h && *h && strcmp(h, "@@name@@") != 0 && strcmp(h, "default-handler") != 0 && !strchr(h, '/');
}

static int @@name@@_handler(request_rec *r)
{
    if (given_to_another_module(r))
        return DECLINED;

    ap_set_content_type(r, "text/plain");
    if (!r->header_only)
        ap_rputs("Hello from mod_@@name@@\n", r);
    return OK;
}

static void @@name@@_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* REALLY_FIRST: asked before every other handler. */
    ap_hook_handler(@@name@@_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
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

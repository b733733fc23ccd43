/*
 * mod_@@name@@ (C++): an HTML page listing every request header, for requests
 * whose handler is "@@name@@" (`SetHandler @@name@@` in a <Location>).
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 * C++ modules must be linked with the C++ compiler (apxs-ts build does).
 */
#include <cstring>
#include <string>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_tables.h"

// httpd looks the module record up by its C name, so it gets C linkage.
extern "C" module AP_MODULE_DECLARE_DATA @@name@@_module;
#ifdef APLOG_USE_MODULE // 2.4 names the module in its log lines; 2.0 and 2.2 have no such macro
APLOG_USE_MODULE(@@name@@);
#endif

namespace {

struct Page {
    request_rec *r;
    std::string body;
};

// apr_table_do hands our Page back as void*; returning 1 continues the walk.
int add_header_row(void *rec, const char *key, const char *value)
{
    Page *page = static_cast<Page *>(rec);
    page->body += "<tr><th>";
    page->body += ap_escape_html(page->r->pool, key);
    page->body += "</th><td>";
    page->body += ap_escape_html(page->r->pool, value);
    page->body += "</td></tr>\n";
    return 1;
}

int @@name@@_handler(request_rec *r)
{
    if (!r->handler || std::strcmp(r->handler, "@@name@@") != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "handling declined: %s",
                      r->handler ? r->handler : "(no handler)");
        return DECLINED;
    }

    ap_set_content_type(r, "text/html");
    if (r->header_only)
        return OK;

    Page page{r, "<!DOCTYPE html>\n<html><head><title>mod_@@name@@</title></head><body>\n"};
    page.body += std::string("<h1>Request headers for ") + ap_escape_html(r->pool, r->uri) + " (C++)</h1>\n<table>\n";
    apr_table_do(add_header_row, &page, r->headers_in, nullptr);
    page.body += "</table>\n</body></html>\n";
    ap_rwrite(page.body.data(), static_cast<int>(page.body.size()), r);
    return OK;
}

void register_hooks(apr_pool_t *)
{
    ap_hook_handler(@@name@@_handler, nullptr, nullptr, APR_HOOK_MIDDLE);
}

} // namespace

module AP_MODULE_DECLARE_DATA @@name@@_module = {
    STANDARD20_MODULE_STUFF,
    nullptr, // per-directory config creator
    nullptr, // per-directory config merger
    nullptr, // per-server config creator
    nullptr, // per-server config merger
    nullptr, // directives
    register_hooks
};

/*
 * mod_@@name@@ (C++): an HTML page listing every request header, for requests
 * whose handler is "@@name@@" (`SetHandler @@name@@` in a <Location>).
 * Written for the Apache 1.3 module API (handler_rec table, module record).
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 * C++ modules must be linked with the C++ compiler (apxs-ts build does).
 */
#include <string>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

// httpd looks the module record up by its C name, so it gets C linkage.
extern "C" module MODULE_VAR_EXPORT @@name@@_module;

namespace {

struct Page {
    request_rec *r;
    std::string body;
};

// ap_table_do hands our Page back as void*; returning 1 continues the walk.
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

// Every page goes out with a Content-Length: without one, 1.3 chunks an
// HTTP/1.1 response and pads the chunk sizes with spaces ("12 \r\n"), which
// strict clients (Node's http parser, so apxs-ts ctl's health check) reject.
int @@name@@_handler(request_rec *r)
{
    Page page{r, "<!DOCTYPE html>\n<html><head><title>mod_@@name@@</title></head><body>\n"};
    page.body += std::string("<h1>Request headers for ") + ap_escape_html(r->pool, r->uri) + " (C++)</h1>\n<table>\n";
    ap_table_do(add_header_row, &page, r->headers_in, nullptr);
    page.body += "</table>\n</body></html>\n";

    r->content_type = "text/html";
    ap_set_content_length(r, static_cast<long>(page.body.size()));
    ap_send_http_header(r);
    if (!r->header_only)
        ap_rwrite(page.body.data(), static_cast<int>(page.body.size()), r);
    return OK;
}

// Asked about every request no exact match took (the "*/*" entry below):
// says at debug level that it is not ours.
int @@name@@_decline(request_rec *r)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG|APLOG_NOERRNO, r, "handling declined: %s",
                  r->handler ? r->handler : r->content_type ? r->content_type : "(no handler)");
    return DECLINED;
}

// 1.3 has no handler hook: it calls the handlers whose name matches the
// request's handler (SetHandler) or content type, exact names first, then
// wildcards; a module loaded later is asked before the core's own "*/*".
const handler_rec handlers[] = {
    { "@@name@@", @@name@@_handler },
    { "*/*", @@name@@_decline },
    { nullptr, nullptr }
};

} // namespace

// httpd 1.3 knows a module by the name in its record, and AddModule (as
// `apxs -a` and `apxs-ts install` write it) names mod_@@name@@.c whatever the
// language. STANDARD_MODULE_STUFF would put __FILE__ there (mod_@@name@@.cpp),
// so its fields are spelled out with that name instead.
module MODULE_VAR_EXPORT @@name@@_module = {
    MODULE_MAGIC_NUMBER_MAJOR,
    MODULE_MAGIC_NUMBER_MINOR,
    -1,                      // module index, set by httpd
    "mod_@@name@@.c",        // the name AddModule refers to
    nullptr,                 // DSO handle, set by httpd
    nullptr,                 // next module, set by httpd
    MODULE_MAGIC_COOKIE,
    nullptr,                 // module initializer
    nullptr,                 // per-directory config creator
    nullptr,                 // per-directory config merger
    nullptr,                 // per-server config creator
    nullptr,                 // per-server config merger
    nullptr,                 // directives
    handlers,                // content handlers
    nullptr,                 // URI-to-filename translation
    nullptr,                 // check user id
    nullptr,                 // check auth
    nullptr,                 // check access
    nullptr,                 // type checker
    nullptr,                 // fixups
    nullptr,                 // logger
    nullptr,                 // header parser
    nullptr,                 // child init
    nullptr,                 // child exit
    nullptr                  // post read-request
};

/*
 * mod_@@name@@ (C++): a content handler. It answers requests whose handler is
 * "@@name@@" (set by `SetHandler @@name@@` in a <Location>) with an HTML page
 * describing the request, and declines everything else with a debug log line.
 * Written for the Apache 1.3 module API (handler_rec table, module record).
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 * C++ modules must be linked with the C++ compiler (apxs-ts build does).
 */
#include <sstream>
#include <string>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

// httpd looks the module record up by its C name, so it gets C linkage.
extern "C" module MODULE_VAR_EXPORT @@name@@_module;

namespace {

std::string html(request_rec *r, const char *s)
{
    return s ? ap_escape_html(r->pool, s) : "(none)";
}

// Every page goes out with a Content-Length: without one, 1.3 chunks an
// HTTP/1.1 response and pads the chunk sizes with spaces ("12 \r\n"), which
// strict clients (Node's http parser, so apxs-ts ctl's health check) reject.
int @@name@@_handler(request_rec *r)
{
    std::ostringstream page;
    page << "<!DOCTYPE html>\n<html><head><title>mod_@@name@@</title></head><body>\n"
         << "<h1>mod_@@name@@ (C++)</h1>\n<dl>\n"
         << "<dt>handler</dt><dd>" << html(r, r->handler) << "</dd>\n"
         << "<dt>filename</dt><dd>" << html(r, r->filename) << "</dd>\n"
         << "<dt>the_request</dt><dd>" << html(r, r->the_request) << "</dd>\n"
         << "<dt>header_only</dt><dd>" << r->header_only << "</dd>\n"
         << "<dt>hostname</dt><dd>" << html(r, r->hostname) << "</dd>\n"
         << "</dl>\n</body></html>\n";
    const std::string body = page.str();

    r->content_type = "text/html";
    ap_set_content_length(r, static_cast<long>(body.size()));
    ap_send_http_header(r);
    if (!r->header_only)
        ap_rwrite(body.data(), static_cast<int>(body.size()), r);
    return OK;
}

// Asked about every request no exact match took (the "*/*" entry below):
// says at debug level that it is not ours. Without a SetHandler, 1.3
// dispatches on the content type and r->handler stays NULL.
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

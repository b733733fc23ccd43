/*
 * mod_@@name@@ (C++): a content handler. It answers requests whose handler is
 * "@@name@@" (set by `SetHandler @@name@@` in a <Location>) with an HTML page
 * describing the request, and declines everything else with a debug log line.
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 * C++ modules must be linked with the C++ compiler (apxs-ts build does).
 */
#include <cstring>
#include <sstream>
#include <string>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

// httpd looks the module record up by its C name, so it gets C linkage.
extern "C" module AP_MODULE_DECLARE_DATA @@name@@_module;
#ifdef APLOG_USE_MODULE // 2.4 names the module in its log lines; 2.0 and 2.2 have no such macro
APLOG_USE_MODULE(@@name@@);
#endif

namespace {

std::string html(request_rec *r, const char *s)
{
    return s ? ap_escape_html(r->pool, s) : "(none)";
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
    ap_rwrite(body.data(), static_cast<int>(body.size()), r);
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

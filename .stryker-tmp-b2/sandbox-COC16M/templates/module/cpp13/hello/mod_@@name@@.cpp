/*
 * mod_@@name@@ (C++): answers every request with one line of plain text.
 * Written for the Apache 1.3 module API (handler_rec table, module record).
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 * C++ modules must be linked with the C++ compiler (apxs-ts build does).
 */
#include <cstring>
#include <string>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"

// httpd looks the module record up by its C name, so it gets C linkage.
extern "C" module MODULE_VAR_EXPORT @@name@@_module;

namespace {

// Every request is ours, except one that a SetHandler gave to another module
// by name (1.3 leaves r->handler NULL unless SetHandler or AddHandler set it;
// a content type contains '/').
bool given_to_another_module(const request_rec *r)
{
    const char *h = r->handler;
    return h && *h && std::strcmp(h, "@@name@@") != 0 && std::strcmp(h, "default-handler") != 0 && !std::strchr(h, '/');
}

// Every page goes out with a Content-Length: without one, 1.3 chunks an
// HTTP/1.1 response and pads the chunk sizes with spaces ("12 \r\n"), which
// strict clients (Node's http parser, so apxs-ts ctl's health check) reject.
int @@name@@_handler(request_rec *r)
{
    if (given_to_another_module(r))
        return DECLINED;

    const std::string line = std::string("Hello from mod_@@name@@") + " (C++)\n";
    r->content_type = "text/plain";
    ap_set_content_length(r, static_cast<long>(line.size()));
    ap_send_http_header(r);
    if (!r->header_only)
        ap_rwrite(line.data(), static_cast<int>(line.size()), r);
    return OK;
}

// 1.3 has no handler hook: it calls the handlers whose name matches the
// request's handler or content type. "*/*" matches every request, after the
// exact matches (mod_dir's directories, SetHandler names) and before the
// core's own "*/*" (a module loaded later is asked first).
const handler_rec handlers[] = {
    { "*/*", @@name@@_handler },
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

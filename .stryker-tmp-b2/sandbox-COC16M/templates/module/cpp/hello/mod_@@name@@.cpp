/*
 * mod_@@name@@ (C++): answers every request with one line of plain text.
 * Build: apxs-ts build    Install: apxs-ts install    Then open /@@name@@
 * C++ modules must be linked with the C++ compiler (apxs-ts build does).
 */
#include <cstring>
#include <string>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "ap_config.h"

// httpd looks the module record up by its C name, so it gets C linkage.
extern "C" module AP_MODULE_DECLARE_DATA @@name@@_module;

namespace {

// Every request is ours, except one that a SetHandler gave to another module
// by name. Without a SetHandler, r->handler is empty, "default-handler" or a
// content type (which contains '/').
bool given_to_another_module(const request_rec *r)
{
    const char *h = r->handler;
    return h && *h && std::strcmp(h, "@@name@@") != 0 && std::strcmp(h, "default-handler") != 0 && !std::strchr(h, '/');
}

int @@name@@_handler(request_rec *r)
{
    if (given_to_another_module(r))
        return DECLINED;

    ap_set_content_type(r, "text/plain");
    if (!r->header_only) {
        const std::string line = std::string("Hello from mod_@@name@@") + " (C++)\n";
        ap_rwrite(line.data(), static_cast<int>(line.size()), r);
    }
    return OK;
}

void register_hooks(apr_pool_t *)
{
    // REALLY_FIRST: asked before every other handler.
    ap_hook_handler(@@name@@_handler, nullptr, nullptr, APR_HOOK_REALLY_FIRST);
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

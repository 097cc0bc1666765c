#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <openssl/opensslv.h>
#include <stdio.h>
#include <yaml.h>

#include "commands.h"
#include "tt_version.h"

int tt_cmd_version(int argc, char **argv)
{
    if (tt_cmd_wants_help(argc, argv)) {
        printf("Usage: trimtab version\n\nPrints trimtab's version and those of its libraries.\n");
        return 0;
    }
    printf("trimtab %s\n", TT_VERSION);
    printf("libraries: curl %s, libyaml %s, jansson %s, %s, libev %d.%d\n",
           curl_version_info(CURLVERSION_NOW)->version, yaml_get_version_string(), JANSSON_VERSION,
           OPENSSL_VERSION_TEXT, ev_version_major(), ev_version_minor());
    return 0;
}

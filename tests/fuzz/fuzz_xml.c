/* libFuzzer target: tt_xml, the XML reader under the AWS response parsers, on its own. Every
 * node of an accepted document is walked: names, text lengths, attribute lookups, the text of
 * the whole tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tt_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const tt_xml_node *n, int depth)
{
    size_t count = 1;
    if (depth > TT_XML_MAX_DEPTH + 1)
        abort();
    if (n->name != NULL) {
        for (const tt_xml_attr *a = n->attrs; a != NULL; a = a->next) {
            if (tt_xml_attr_get(n, a->name) == NULL)
                abort();
        }
        for (const tt_xml_node *c = n->children; c != NULL; c = c->next)
            count += walk(c, depth + 1);
    } else if (strlen(n->text) != n->len) {
        abort();
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tt_error err;
    tt_xml_doc *doc = tt_xml_parse((const char *)data, size, &err);
    if (doc == NULL)
        return 0;
    const tt_xml_node *root = tt_xml_root(doc);
    walk(root, 0);
    free(tt_xml_text(root));
    tt_xml_free(doc);
    return 0;
}

/*
 * tt_xml — a small, strict reader for the XML that AWS answers in (Query and REST-XML).
 *
 * Responses are plain XML 1.0 in UTF-8: elements, attributes, character data, the five
 * predefined entities and character references, now and then CDATA sections, comments and an
 * XML declaration. The reader takes exactly that and refuses what a response never carries: a
 * DOCTYPE (so no entity can be defined, let alone expanded), other entity references, other
 * encodings, bytes that XML forbids, unbalanced or mismatched tags. It stands in for libxml2,
 * whose dependencies (ICU, libstdc++, liblzma) cost every trimtab process about 2.5 MiB of
 * resident library pages.
 *
 * A document is one copy of the input, decoded in place (every decoded form is shorter than its
 * source), and its nodes in one arena: two allocations and a few arena blocks, freed by one
 * call. Namespace prefixes are dropped from names, so elements and attributes are matched by
 * local name; namespace declarations (xmlns, xmlns:p) are not attributes.
 */
#ifndef TT_XML_H
#define TT_XML_H

#include <stddef.h>

#include "tt_error.h"

typedef struct tt_xml_doc tt_xml_doc;
typedef struct tt_xml_node tt_xml_node;
typedef struct tt_xml_attr tt_xml_attr;

/* Read-only views into a document; they live as long as it does. */
struct tt_xml_attr {
    const char *name;  /* local name */
    const char *value; /* decoded, whitespace normalised as XML says */
    const tt_xml_attr *next;
};

struct tt_xml_node {
    const char *name; /* an element's local name; NULL for character data */
    const char *text; /* character data (decoded; CDATA as written); NULL for an element */
    size_t len;       /* strlen(text) */
    int line;         /* where the element or the text starts, from 1 */
    const tt_xml_attr *attrs;
    const tt_xml_node *children; /* elements and character data, in document order */
    const tt_xml_node *next;
};

/* Inputs beyond this many bytes are refused (TT_ELIMIT). */
#define TT_XML_MAX_SIZE (64u * 1024 * 1024)
/* Elements nested deeper than this are refused (TT_ELIMIT), as libxml2 does by default. */
#define TT_XML_MAX_DEPTH 256

/* Parses `len` bytes. NULL with `err` set (TT_EPARSE naming the line and the fault, TT_ELIMIT,
 * TT_ENOMEM) when the input is not a well-formed document this reader accepts. */
tt_xml_doc *tt_xml_parse(const char *data, size_t len, tt_error *err);
/* Accepts NULL. */
void tt_xml_free(tt_xml_doc *doc);
/* The root element. */
const tt_xml_node *tt_xml_root(const tt_xml_doc *doc);
/* The first child element of `node` named `name` (NULL-safe), or NULL. */
const tt_xml_node *tt_xml_child(const tt_xml_node *node, const char *name);
/* The value of `node`'s attribute named `name`, or NULL. */
const char *tt_xml_attr_get(const tt_xml_node *node, const char *name);
/* All character data inside `node`, its descendants' included, in document order: a new string
 * to free(); NULL for a NULL node or when out of memory. */
char *tt_xml_text(const tt_xml_node *node);

#endif

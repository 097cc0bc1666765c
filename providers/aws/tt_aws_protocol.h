/*
 * tt_aws_protocol — the four AWS wire protocols, driven by the embedded models.
 *
 * tt_aws_serialize() turns an operation's input (a jansson object in botocore's input shape,
 * exactly what boto3 takes as keyword arguments) into an HTTP request; tt_aws_parse() turns
 * the HTTP response into the output (botocore's output shape, minus ResponseMetadata) or into
 * one error record. Conventions shared by every protocol, so a caller never has to know which
 * one a service speaks:
 *   - timestamps: inputs take ISO 8601 strings or epoch seconds; outputs are ISO 8601 UTC
 *     strings ("2024-05-01T12:00:00Z", fractional seconds kept when present);
 *   - blobs are base64 strings both ways;
 *   - idempotency tokens left out are generated (a random UUID), as botocore does;
 *   - inputs are validated against the shape first (unknown member, missing required member,
 *     wrong type: TT_EINVAL naming the member's path) so nothing malformed reaches AWS.
 * Internal to providers/aws.
 */
#ifndef TT_AWS_PROTOCOL_H
#define TT_AWS_PROTOCOL_H

#include <jansson.h>
#include <libxml/tree.h>

#include "tt_http.h"
#include "tt_aws_model.h"
#include "tt_buf.h"
#include "tt_error.h"

typedef struct tt_aws_pair {
    char *name;
    char *value;
} tt_aws_pair;

/* An HTTP request before endpoint, signature and date are added. Owns everything. */
typedef struct tt_aws_wire {
    const char *method; /* a literal */
    tt_buf path;        /* percent-encoded, starting with '/' */
    tt_aws_pair *query; /* decoded; the signer encodes and sorts them */
    size_t nquery;
    tt_aws_pair *headers; /* besides Host and the signature's */
    size_t nheaders;
    tt_buf body;
} tt_aws_wire;

void tt_aws_wire_init(tt_aws_wire *w);
void tt_aws_wire_cleanup(tt_aws_wire *w);
tt_code tt_aws_wire_add_query(tt_aws_wire *w, const char *name, const char *value);
tt_code tt_aws_wire_add_header(tt_aws_wire *w, const char *name, const char *value);

/*
 * Serialises `input` (borrowed; NULL means {}) for operation `opname` of `svc`. On failure
 * `err` names the offending member (TT_EINVAL) or the unknown operation (TT_EUNSUPPORTED).
 */
tt_code tt_aws_serialize(const tt_aws_service *svc, const char *opname, json_t *input,
                         tt_aws_wire *w, tt_error *err);

/*
 * Parses a response. On a 2xx status *out receives a new reference to the output object
 * (the caller owns it). Otherwise — or when the body does not fit the model — *out stays NULL
 * and `err` holds the one error record: HTTP status, AWS error code, message and request id,
 * with the code classified (throttling, unavailable, access denied, not found, conflict,
 * other AWS error). Never crashes on malformed, truncated or hostile bodies.
 */
tt_code tt_aws_parse(const tt_aws_service *svc, const char *opname, const tt_http_response *resp,
                     json_t **out, tt_error *err);

/* Classifies an AWS error code and HTTP status into trimtab's error codes. */
tt_code tt_aws_classify_error(const char *code, long status);
/* True when `code` is one of the SDKs' throttling error codes. */
int tt_aws_is_throttling_code(const char *code);

/* --- shared by the protocol files --- */

/* Checks `value` against `shape` (recursively); `path` names it in messages. */
tt_code tt_aws_validate(const tt_aws_service *svc, json_t *shape, json_t *value, const char *path,
                        tt_error *err);
/* Parses ISO 8601, RFC 822 (HTTP date) or epoch-seconds text into epoch seconds. */
int tt_aws_parse_time(const char *s, double *out);
/* Formats epoch seconds as ISO 8601 UTC: "%Y-%m-%dT%H:%M:%SZ", with .mmm when fractional. */
void tt_aws_format_iso8601(double t, char buf[40]);
/* Formats epoch seconds as an HTTP date (RFC 822/1123). */
void tt_aws_format_http_date(double t, char buf[40]);
/* A timestamp input (string or number) in epoch seconds; -1 when it is neither. */
int tt_aws_input_time(json_t *v, double *out);
/* Formats a scalar input as text the way botocore does (true/false, shortest float...). */
tt_code tt_aws_scalar_text(json_t *shape, json_t *v, const char *ts_format, tt_buf *out);
/* A random version-4 UUID (idempotency tokens). */
void tt_aws_uuid4(char buf[37]);
/* The serialised name of a member: its locationName, else its name. */
const char *tt_aws_member_wire_name(json_t *member_ref, const char *name);

/* JSON protocols: input → JSON document by shape; body → output by shape. */
tt_code tt_aws_json_build(const tt_aws_service *svc, json_t *shape, json_t *value, int rest,
                          json_t **out, tt_error *err);
tt_code tt_aws_json_parse(const tt_aws_service *svc, json_t *shape, json_t *value, json_t **out,
                          const char *path, tt_error *err);

/* XML protocols: input → XML document; element → output by shape. */
tt_code tt_aws_xml_build(const tt_aws_service *svc, json_t *shape, json_t *value,
                         const char *root_name, const char *xmlns, tt_buf *out, tt_error *err);
tt_code tt_aws_xml_parse(const tt_aws_service *svc, json_t *shape, xmlNode *node, json_t **out,
                         tt_error *err);
/* Parses an XML body safely (no network, no entity expansion, size-bounded). NULL on error. */
xmlDoc *tt_aws_xml_read(const char *data, size_t len);
/* The first element child of `node` with local name `name`, or NULL. */
xmlNode *tt_aws_xml_child(xmlNode *node, const char *name);
/* The text of `node` (a new string to free with xmlFree), or NULL. */
char *tt_aws_xml_text(xmlNode *node);

/* Query protocol: the form body. */
tt_code tt_aws_query_build(const tt_aws_service *svc, const char *opname, json_t *shape,
                           json_t *value, tt_buf *body, tt_error *err);

#endif

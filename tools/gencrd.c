/*
 * gencrd — writes crds/<plural>.trimtab.dev.yaml from the schema tables of reconcile/.
 *
 * The CRDs are generated, never edited by hand: the same tables drive `trimtab validate`, so
 * the two agree field by field. `make crds` runs this; a test checks that crds/ is current.
 * Usage: gencrd OUTDIR
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "model.h"
#include "schema.h"

struct column {
    const char *name, *type, *path, *description;
};

static const char *const short_names[TT_KIND_COUNT][3] = {
    [TT_KIND_SCALING_POLICY] = {"sp", "tsp", NULL},
    [TT_KIND_ALARM] = {"tal", NULL, NULL},
    [TT_KIND_BUDGET] = {"tbudget", NULL, NULL},
    [TT_KIND_SECRET_ROTATION] = {"sr", "tsr", NULL},
};

static const struct column kind_columns[TT_KIND_COUNT][3] = {
    [TT_KIND_SCALING_POLICY] = {{"Current", "integer", ".status.currentCapacity", NULL},
                                {"Min", "integer", ".spec.minCapacity", NULL},
                                {"Max", "integer", ".status.effectiveMaxCapacity",
                                 "maximum in force (lower while a budget guard clamps)"}},
    [TT_KIND_ALARM] = {{"State", "string", ".status.state", NULL}},
    [TT_KIND_BUDGET] = {{"Limit", "number", ".spec.limit.amount", NULL},
                        {"Used%", "number", ".status.percentUsed", NULL}},
    [TT_KIND_SECRET_ROTATION] = {{"Last-Rotated", "date", ".status.lastRotatedDate", NULL},
                                 {"Result", "string", ".status.lastRotationResult", NULL}},
};

/* Columns only `kubectl get -o wide` shows (priority 1), after Age as kubectl's own are. */
static const struct column wide_columns[TT_KIND_COUNT][2] = {
    [TT_KIND_SCALING_POLICY] = {{"Forecast-Peak", "number", ".status.forecastPeak.capacity",
                                 "the highest capacity the predictive policies forecast ahead"},
                                {"Peak-At", "string", ".status.forecastPeak.time",
                                 "the hour that peak is forecast for"}},
};

static const char *const singular[TT_KIND_COUNT] = {"scalingpolicy", "alarm", "budget",
                                                    "secretrotation"};

static json_t *column(const char *name, const char *type, const char *path, const char *desc)
{
    json_t *c = json_pack("{s:s,s:s,s:s}", "name", name, "type", type, "jsonPath", path);

    if (desc != NULL)
        json_object_set_new(c, "description", json_string(desc));
    return c;
}

static json_t *crd(tt_kind k)
{
    char name[128], list_kind[64];
    json_t *shorts = json_array(), *cols = json_array(), *schema;

    snprintf(name, sizeof(name), "%s.%s", tt_kind_plural(k), TT_API_GROUP);
    snprintf(list_kind, sizeof(list_kind), "%sList", tt_kind_name(k));
    for (int i = 0; i < 3 && short_names[k][i] != NULL; i++)
        json_array_append_new(shorts, json_string(short_names[k][i]));
    json_array_append_new(
        cols, column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", NULL));
    json_array_append_new(
        cols, column("Reason", "string", ".status.conditions[?(@.type==\"Ready\")].reason", NULL));
    json_array_append_new(cols, column("Target", "string", ".status.target", NULL));
    for (int i = 0; i < 3 && kind_columns[k][i].name != NULL; i++)
        json_array_append_new(cols,
                              column(kind_columns[k][i].name, kind_columns[k][i].type,
                                     kind_columns[k][i].path, kind_columns[k][i].description));
    json_array_append_new(cols, column("Age", "date", ".metadata.creationTimestamp", NULL));
    for (int i = 0; i < 2 && wide_columns[k][i].name != NULL; i++) {
        json_t *c = column(wide_columns[k][i].name, wide_columns[k][i].type,
                           wide_columns[k][i].path, wide_columns[k][i].description);
        if (c != NULL)
            json_object_set_new(c, "priority", json_integer(1));
        json_array_append_new(cols, c);
    }

    schema = json_pack("{s:s,s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:o,s:o},s:[s]}", "type", "object",
                       "description", tt_model_spec_schema(k)->doc, "properties", "apiVersion",
                       "type", "string", "kind", "type", "string", "metadata", "type", "object",
                       "spec", tt_schema_openapi(tt_model_spec_schema(k)), "status",
                       tt_schema_openapi(tt_model_status_schema(k)), "required", "spec");

    return json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s}},s:{s:s,s:{s:s,s:s,s:s,s:s,s:o,s:[s]},s:s,"
                     "s:[{s:s,s:b,s:b,s:{s:{}},s:o,s:{s:o}}]}}",
                     "apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition",
                     "metadata", "name", name, "labels", "app.kubernetes.io/name", "trimtab",
                     "app.kubernetes.io/part-of", "trimtab", "spec", "group", TT_API_GROUP, "names",
                     "kind", tt_kind_name(k), "listKind", list_kind, "plural", tt_kind_plural(k),
                     "singular", singular[k], "shortNames", shorts, "categories", "trimtab",
                     "scope", "Namespaced", "versions", "name", "v1alpha1", "served", 1, "storage",
                     1, "subresources", "status", "additionalPrinterColumns", cols, "schema",
                     "openAPIV3Schema", schema);
}

/* A string that YAML would read as something else (true, 12, null, "") must be quoted. */
static int needs_quotes(const char *s)
{
    static const char *const words[] = {"true",  "True", "TRUE", "false", "False",
                                        "FALSE", "null", "Null", "NULL",  "~",
                                        "yes",   "no",   "on",   "off",   NULL};
    char *end;

    if (*s == '\0')
        return 1;
    for (int i = 0; words[i] != NULL; i++) {
        if (strcmp(s, words[i]) == 0)
            return 1;
    }
    strtod(s, &end);
    return *end == '\0';
}

static int emit(yaml_emitter_t *e, const json_t *j)
{
    yaml_event_t ev;
    char num[64];
    const char *key;
    json_t *v;
    size_t i;

    switch (json_typeof(j)) {
    case JSON_OBJECT:
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit(e, &ev))
            return -1;
        json_object_foreach((json_t *)j, key, v)
        {
            yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)key, -1, 1, 1,
                                         needs_quotes(key) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                           : YAML_ANY_SCALAR_STYLE);
            if (!yaml_emitter_emit(e, &ev) || emit(e, v) != 0)
                return -1;
        }
        yaml_mapping_end_event_initialize(&ev);
        return yaml_emitter_emit(e, &ev) ? 0 : -1;
    case JSON_ARRAY:
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(e, &ev))
            return -1;
        json_array_foreach(j, i, v)
        {
            if (emit(e, v) != 0)
                return -1;
        }
        yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(e, &ev) ? 0 : -1;
    case JSON_STRING: {
        const char *s = json_string_value(j);
        yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, -1, 1, 1,
                                     needs_quotes(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                     : YAML_ANY_SCALAR_STYLE);
        return yaml_emitter_emit(e, &ev) ? 0 : -1;
    }
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(j));
        break;
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(j));
        if (strpbrk(num, ".eE") == NULL)
            strcat(num, ".0");
        break;
    case JSON_TRUE:
        snprintf(num, sizeof(num), "true");
        break;
    case JSON_FALSE:
        snprintf(num, sizeof(num), "false");
        break;
    default:
        snprintf(num, sizeof(num), "null");
        break;
    }
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)num, -1, 1, 1,
                                 YAML_PLAIN_SCALAR_STYLE);
    return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

static int write_yaml(const char *path, const json_t *doc)
{
    FILE *f = fopen(path, "w");
    yaml_emitter_t e;
    yaml_event_t ev;
    int rc = -1;

    if (f == NULL)
        return -1;
    fputs("# Generated by tools/gencrd from the schema tables in reconcile/; do not edit.\n"
          "# Regenerate with: make crds\n",
          f);
    yaml_emitter_initialize(&e);
    yaml_emitter_set_output_file(&e, f);
    yaml_emitter_set_width(&e, 100);
    yaml_emitter_set_unicode(&e, 1);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    if (!yaml_emitter_emit(&e, &ev))
        goto out;
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    if (!yaml_emitter_emit(&e, &ev) || emit(&e, doc) != 0)
        goto out;
    yaml_document_end_event_initialize(&ev, 1);
    if (!yaml_emitter_emit(&e, &ev))
        goto out;
    yaml_stream_end_event_initialize(&ev);
    if (!yaml_emitter_emit(&e, &ev))
        goto out;
    rc = 0;
out:
    yaml_emitter_delete(&e);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gencrd OUTDIR\n");
        return 2;
    }
    for (int k = 0; k < TT_KIND_COUNT; k++) {
        char path[4096];
        json_t *doc = crd((tt_kind)k);
        int rc;
        if (doc == NULL) {
            fprintf(stderr, "gencrd: could not build the %s CRD\n", tt_kind_name((tt_kind)k));
            return 1;
        }
        snprintf(path, sizeof(path), "%s/%s.%s.yaml", argv[1], tt_kind_plural((tt_kind)k),
                 TT_API_GROUP);
        rc = write_yaml(path, doc);
        json_decref(doc);
        if (rc != 0) {
            fprintf(stderr, "gencrd: cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}

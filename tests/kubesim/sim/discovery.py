"""Discovery documents (the legacy, unaggregated form: clients that ask for aggregated
discovery get these and fall back, as they do with older servers) and OpenAPI v3 documents,
one per group-version, enough for `kubectl explain`, the field-validation probe kubectl runs
before apply, and strategic-merge support of built-in kinds."""

import hashlib
import json

from . import schema as sch

VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
GROUP_ORDER = ['apps', 'events.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io',
               'coordination.k8s.io']


def api_versions():
    return {'kind': 'APIVersions', 'versions': ['v1'],
            'serverAddressByClientCIDRs': [{'clientCIDR': '0.0.0.0/0', 'serverAddress': '127.0.0.1:443'}]}


def _groups(types):
    groups = {}
    for t in types:
        if t.group:
            groups.setdefault(t.group, [])
            if t.version not in groups[t.group]:
                groups[t.group].append(t.version)
    order = [g for g in GROUP_ORDER if g in groups] + sorted(g for g in groups if g not in GROUP_ORDER)
    return [(g, groups[g]) for g in order]


def _group_doc(g, versions):
    vs = [{'groupVersion': '%s/%s' % (g, v), 'version': v} for v in versions]
    return {'name': g, 'versions': vs, 'preferredVersion': vs[0]}


def api_group_list(types):
    return {'kind': 'APIGroupList', 'apiVersion': 'v1',
            'groups': [_group_doc(g, vs) for g, vs in _groups(types)]}


def api_group(types, group):
    for g, vs in _groups(types):
        if g == group:
            return dict(_group_doc(g, vs), kind='APIGroup', apiVersion='v1')
    return None


def resource_list(types, group, version):
    res = []
    for t in types:
        if t.group != group or t.version != version:
            continue
        r = {'name': t.plural, 'singularName': t.singular, 'namespaced': t.namespaced, 'kind': t.kind,
             'verbs': VERBS, 'storageVersionHash': hashlib.sha256(t.kind.encode()).hexdigest()[:12]}
        if t.short_names:
            r['shortNames'] = t.short_names
        if t.categories:
            r['categories'] = t.categories
        res.append(r)
        if t.status:
            res.append({'name': t.plural + '/status', 'singularName': '', 'namespaced': t.namespaced,
                        'kind': t.kind, 'verbs': ['get', 'patch', 'update']})
        if t.kind == 'ServiceAccount':
            res.append({'name': 'serviceaccounts/token', 'singularName': '', 'namespaced': True,
                        'group': 'authentication.k8s.io', 'version': 'v1', 'kind': 'TokenRequest',
                        'verbs': ['create']})
        if t.kind == 'Namespace':
            res.append({'name': 'namespaces/finalize', 'singularName': '', 'namespaced': False,
                        'kind': 'Namespace', 'verbs': ['update']})
    if not res:
        return None
    return {'kind': 'APIResourceList', 'apiVersion': 'v1',
            'groupVersion': '%s/%s' % (group, version) if group else version, 'resources': res}


# ---- OpenAPI v3 ---------------------------------------------------------------------------------

META = 'io.k8s.apimachinery.pkg.apis.meta.v1.'
_STR = {'type': 'string'}
OBJECT_META = {
    'description': 'ObjectMeta is metadata that all persisted resources must have, which includes '
                   'all objects users must create.',
    'type': 'object',
    'properties': {
        'name': dict(_STR, description='Name must be unique within a namespace.'),
        'generateName': dict(_STR, description='An optional prefix used by the server to generate a unique name.'),
        'namespace': dict(_STR, description='Namespace defines the space within which each name must be unique.'),
        'uid': dict(_STR, description='UID is the unique in time and space value for this object.'),
        'resourceVersion': dict(_STR, description='An opaque value that represents the internal version of this object.'),
        'generation': {'type': 'integer', 'format': 'int64',
                       'description': 'A sequence number representing a specific generation of the desired state.'},
        'creationTimestamp': dict(_STR, format='date-time', description='CreationTimestamp is a timestamp representing the server time when this object was created.'),
        'deletionTimestamp': dict(_STR, format='date-time', description='DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.'),
        'deletionGracePeriodSeconds': {'type': 'integer', 'format': 'int64'},
        'labels': {'type': 'object', 'additionalProperties': dict(_STR, default=''),
                   'description': 'Map of string keys and values that can be used to organize and categorize objects.'},
        'annotations': {'type': 'object', 'additionalProperties': dict(_STR, default=''),
                        'description': 'Annotations is an unstructured key value map stored with a resource.'},
        'finalizers': {'type': 'array', 'items': dict(_STR, default=''), 'x-kubernetes-list-type': 'set',
                       'x-kubernetes-patch-strategy': 'merge',
                       'description': 'Must be empty before the object is deleted from the registry.'},
        'ownerReferences': {'type': 'array', 'items': {'type': 'object'},
                            'x-kubernetes-patch-merge-key': 'uid', 'x-kubernetes-patch-strategy': 'merge'},
        'managedFields': {'type': 'array', 'items': {'type': 'object'}},
    },
}
LIST_META = {'type': 'object', 'properties': {'resourceVersion': _STR, 'continue': _STR,
                                              'remainingItemCount': {'type': 'integer', 'format': 'int64'}}}

# Minimal schemas of the built-in kinds (their documented top-level fields).
BUILTIN_SCHEMAS = {
    'Namespace': {'description': 'Namespace provides a scope for Names.', 'type': 'object', 'properties': {
        'spec': {'type': 'object', 'properties': {'finalizers': {'type': 'array', 'items': _STR}}},
        'status': {'type': 'object', 'properties': {'phase': _STR, 'conditions': {'type': 'array', 'items': {'type': 'object'}}}}}},
    'ConfigMap': {'description': 'ConfigMap holds configuration data for pods to consume.', 'type': 'object',
                  'properties': {'data': {'type': 'object', 'additionalProperties': _STR},
                                 'binaryData': {'type': 'object', 'additionalProperties': dict(_STR, format='byte')},
                                 'immutable': {'type': 'boolean'}}},
    'Secret': {'description': 'Secret holds secret data of a certain type.', 'type': 'object',
               'properties': {'data': {'type': 'object', 'additionalProperties': dict(_STR, format='byte')},
                              'stringData': {'type': 'object', 'additionalProperties': _STR},
                              'type': _STR, 'immutable': {'type': 'boolean'}}},
    'Lease': {'description': 'Lease defines a lease concept.', 'type': 'object', 'properties': {
        'spec': {'type': 'object', 'properties': {
            'holderIdentity': _STR, 'leaseDurationSeconds': {'type': 'integer', 'format': 'int32'},
            'acquireTime': dict(_STR, format='date-time'), 'renewTime': dict(_STR, format='date-time'),
            'leaseTransitions': {'type': 'integer', 'format': 'int32'},
            'strategy': _STR, 'preferredHolder': _STR}}}},
    'Event': {'description': 'Event is a report of an event somewhere in the cluster.', 'type': 'object',
              'properties': {k: {'type': 'object'} if k in ('regarding', 'involvedObject', 'related', 'series', 'source', 'deprecatedSource') else
                             ({'type': 'integer', 'format': 'int32'} if k in ('count', 'deprecatedCount') else _STR)
                             for k in ('eventTime', 'series', 'reportingController', 'reportingInstance', 'action',
                                       'reason', 'regarding', 'related', 'note', 'type', 'deprecatedSource',
                                       'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount')}},
    'CustomResourceDefinition': {'description': 'CustomResourceDefinition represents a resource that should be exposed on the API server.',
                                 'type': 'object', 'properties': {'spec': {'type': 'object'}, 'status': {'type': 'object'}}},
    'ServiceAccount': {'description': 'ServiceAccount binds together a name, a principal that can be authenticated '
                                      'and authorized, and a set of secrets.', 'type': 'object', 'properties': {
        'secrets': {'type': 'array', 'items': {'type': 'object'}, 'x-kubernetes-patch-merge-key': 'name',
                    'x-kubernetes-patch-strategy': 'merge'},
        'imagePullSecrets': {'type': 'array', 'items': {'type': 'object'}},
        'automountServiceAccountToken': {'type': 'boolean'}}},
    'Service': {'description': 'Service is a named abstraction of software service (for example, mysql) '
                               'consisting of local port that the proxy listens on, and the selector that '
                               'determines which pods will answer requests sent through the proxy.',
                'type': 'object', 'properties': {'spec': {'type': 'object'}, 'status': {'type': 'object'}}},
    'Deployment': {'description': 'Deployment enables declarative updates for Pods and ReplicaSets.',
                   'type': 'object', 'properties': {'spec': {'type': 'object'}, 'status': {'type': 'object'}}},
    'PodDisruptionBudget': {'description': 'PodDisruptionBudget is an object to define the max disruption that '
                                           'can be caused to a collection of pods', 'type': 'object',
                            'properties': {'spec': {'type': 'object'}, 'status': {'type': 'object'}}},
    'Role': {'description': 'Role is a namespaced, logical grouping of PolicyRules that can be referenced as a '
                            'unit by a RoleBinding.', 'type': 'object',
             'properties': {'rules': {'type': 'array', 'items': {'type': 'object'}}}},
    'ClusterRole': {'description': 'ClusterRole is a cluster level, logical grouping of PolicyRules that can be '
                                   'referenced as a unit by a RoleBinding or ClusterRoleBinding.', 'type': 'object',
                    'properties': {'rules': {'type': 'array', 'items': {'type': 'object'}},
                                   'aggregationRule': {'type': 'object'}}},
    'RoleBinding': {'description': 'RoleBinding references a role, but does not contain it.', 'type': 'object',
                    'properties': {'roleRef': {'type': 'object'}, 'subjects': {'type': 'array', 'items': {'type': 'object'}}}},
    'ClusterRoleBinding': {'description': 'ClusterRoleBinding references a ClusterRole, but not contain it.',
                           'type': 'object', 'properties': {'roleRef': {'type': 'object'},
                                                            'subjects': {'type': 'array', 'items': {'type': 'object'}}}},
}
CORE_EVENT_FIELDS = ('involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp',
                     'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent',
                     'reportingInstance')


def schema_name(t):
    """The component name real servers use ("dev.trimtab.v1alpha1.ScalingPolicy")."""
    if t.crd:
        return '.'.join(reversed(t.group.split('.'))) + '.%s.%s' % (t.version, t.kind)
    if t.group == 'apiextensions.k8s.io':
        return 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.' + t.kind
    g = t.group.split('.')[0] if t.group else 'core'
    return 'io.k8s.api.%s.%s.%s' % (g, t.version, t.kind)


def _kind_schema(t):
    if t.crd:
        s = sch.strip_compiled(t.schema)
    elif t.kind == 'Event' and not t.group:
        s = {'type': 'object', 'description': BUILTIN_SCHEMAS['Event']['description'],
             'properties': {k: {'type': 'object'} if k in ('involvedObject', 'related', 'series', 'source') else _STR
                            for k in CORE_EVENT_FIELDS}}
    else:
        s = json.loads(json.dumps(BUILTIN_SCHEMAS[t.kind]))
    s = dict(s)
    props = dict(s.get('properties') or {})
    props['apiVersion'] = dict(_STR, description='APIVersion defines the versioned schema of this representation of an object.')
    props['kind'] = dict(_STR, description='Kind is a string value representing the REST resource this object represents.')
    props['metadata'] = {'allOf': [{'$ref': '#/components/schemas/%sObjectMeta' % META}], 'default': {},
                         'description': "Standard object's metadata."}
    s['properties'] = props
    s['x-kubernetes-group-version-kind'] = [{'group': t.group, 'version': t.version, 'kind': t.kind}]
    return s


def _param(name, desc=''):
    return {'name': name, 'in': 'query', 'description': desc, 'schema': {'type': 'string', 'uniqueItems': True}}


def _op(t, action, ref, body_types=None):
    op = {'operationId': '%s%s%s' % (action, t.version.capitalize(), t.kind),
          'x-kubernetes-action': action,
          'x-kubernetes-group-version-kind': {'group': t.group, 'version': t.version, 'kind': t.kind},
          'responses': {'200': {'description': 'OK', 'content': {'application/json': {'schema': {'$ref': ref}}}}},
          'parameters': []}
    if action in ('post', 'put', 'patch'):
        op['parameters'] = [_param('dryRun'), _param('fieldManager'),
                            _param('fieldValidation', 'Strict, Warn or Ignore: how unknown and duplicate fields are treated.')]
        if action == 'patch':
            op['parameters'].append({'name': 'force', 'in': 'query', 'schema': {'type': 'boolean', 'uniqueItems': True}})
        op['requestBody'] = {'content': {ct: {'schema': {'$ref': ref if action != 'patch' else '#/components/schemas/%sPatch' % META}}
                                         for ct in body_types or ['*/*']}, 'required': True}
    return op


def openapi_doc(types, gv_path):
    """The OpenAPI v3 document of one group-version path ("api/v1", "apis/trimtab.dev/v1alpha1")."""
    schemas = {META + 'ObjectMeta': OBJECT_META, META + 'ListMeta': LIST_META,
               META + 'Patch': {'type': 'object', 'description': 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.'},
               META + 'Status': {'type': 'object', 'properties': {'status': _STR, 'message': _STR, 'reason': _STR,
                                                                  'code': {'type': 'integer', 'format': 'int32'}}}}
    paths = {}
    for t in types:
        if t.gv_path.lstrip('/') != gv_path:
            continue
        name = schema_name(t)
        ref = '#/components/schemas/' + name
        schemas[name] = _kind_schema(t)
        schemas[name + 'List'] = {
            'type': 'object', 'required': ['items'],
            'properties': {'apiVersion': _STR, 'kind': _STR,
                           'items': {'type': 'array', 'items': {'$ref': ref}},
                           'metadata': {'allOf': [{'$ref': '#/components/schemas/%sListMeta' % META}], 'default': {}}},
            'x-kubernetes-group-version-kind': [{'group': t.group, 'version': t.version, 'kind': t.list_kind}]}
        base = t.gv_path + ('/namespaces/{namespace}/' if t.namespaced else '/') + t.plural
        patch_types = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']
        if t.smp:
            patch_types.insert(2, 'application/strategic-merge-patch+json')
        paths[base] = {'get': _op(t, 'list', ref + 'List'), 'post': _op(t, 'post', ref, ['*/*']),
                       'delete': _op(t, 'deletecollection', '#/components/schemas/%sStatus' % META)}
        paths[base + '/{name}'] = {'get': _op(t, 'get', ref), 'put': _op(t, 'put', ref, ['*/*']),
                                   'patch': _op(t, 'patch', ref, patch_types),
                                   'delete': _op(t, 'delete', ref)}
        if t.status:
            paths[base + '/{name}/status'] = {'get': _op(t, 'get', ref), 'put': _op(t, 'put', ref, ['*/*']),
                                              'patch': _op(t, 'patch', ref, patch_types)}
    if not paths:
        return None
    return {'openapi': '3.0.0', 'info': {'title': 'Kubernetes', 'version': 'v1.35.0-kubesim'},
            'paths': paths, 'components': {'schemas': schemas}}


def openapi_index(types):
    """/openapi/v3: every group-version path with a URL whose hash changes with its content."""
    out = {}
    for gv in sorted({t.gv_path.lstrip('/') for t in types}):
        doc = openapi_doc(types, gv)
        h = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()
        out[gv] = {'serverRelativeURL': '/openapi/v3/%s?hash=%s' % (gv, h)}
    return {'paths': out}

"""The resource types kubesim serves: the built-in ones (Namespaces, core and events.k8s.io
Events, Leases, CustomResourceDefinitions) and one per served version of every installed CRD.
A type knows its names (for discovery), its scope, its storage (the two Event APIs share one,
as in Kubernetes), how to validate an object, which fields a field selector may use and how to
print it as a Table."""

import datetime
import re

from . import schema as sch

DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
DNS1123_SUBDOMAIN = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
BASE_FIELDS = ('metadata.name', 'metadata.namespace')


class Type:
    """One resource of one group/version (what a URL path names)."""

    def __init__(self, group, version, kind, plural, singular, namespaced, short_names=(),
                 categories=(), status=False, storage=None, field_labels=(), crd=None,
                 schema=None, columns=None, generation=False, smp=False):
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = singular
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.categories = list(categories)
        self.status = status                  # has a status subresource
        self.storage = storage or (group, plural)
        self.field_labels = set(BASE_FIELDS) | set(field_labels)
        self.crd = crd                        # name of the CRD that defines it, or None
        self.schema = schema                  # openAPIV3Schema with compiled rules (CRs)
        self.columns = columns                # additionalPrinterColumns (CRs)
        self.generation = generation          # maintains metadata.generation
        self.smp = smp                        # accepts strategic merge patches (built-ins)

    @property
    def api_version(self):
        return '%s/%s' % (self.group, self.version) if self.group else self.version

    @property
    def gv_path(self):
        return '/apis/%s/%s' % (self.group, self.version) if self.group else '/api/v1'

    @property
    def list_kind(self):
        return self.kind + 'List'

    def qualified(self):
        """`plural.group` as error messages name the resource ("scalingpolicies.trimtab.dev")."""
        return '%s.%s' % (self.plural, self.group) if self.group else self.plural

    def kind_qualified(self):
        """`Kind.group` as 422 messages name the kind ("ScalingPolicy.trimtab.dev")."""
        return '%s.%s' % (self.kind, self.group) if self.group else self.kind

    # Conversion between the storage form and this API's form (identity but for core Events).
    def to_api(self, obj):
        obj = dict(obj)
        obj['apiVersion'] = self.api_version
        obj['kind'] = self.kind
        return obj

    def from_api(self, obj):
        return obj


# ---- Events: stored as events.k8s.io/v1, served also as core v1 ----------------------------

_EVENT_MAP = [  # (events.k8s.io/v1 field, core v1 field)
    ('regarding', 'involvedObject'), ('note', 'message'), ('reportingController', 'reportingComponent'),
    ('deprecatedSource', 'source'), ('deprecatedFirstTimestamp', 'firstTimestamp'),
    ('deprecatedLastTimestamp', 'lastTimestamp'), ('deprecatedCount', 'count'),
]


class CoreEventType(Type):
    def to_api(self, obj):
        out = dict(obj)
        for new, old in _EVENT_MAP:
            if new in out:
                out[old] = out.pop(new)
        out['apiVersion'] = 'v1'
        out['kind'] = 'Event'
        return out

    def from_api(self, obj):
        out = dict(obj)
        for new, old in _EVENT_MAP:
            if old in out:
                out[new] = out.pop(old)
        return out


def builtin_types():
    return [
        Type('', 'v1', 'Namespace', 'namespaces', 'namespace', False, ['ns'], status=True,
             field_labels=['status.phase'], smp=True),
        CoreEventType('', 'v1', 'Event', 'events', 'event', True, ['ev'],
                      storage=('events.k8s.io', 'events'), smp=True,
                      field_labels=['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name',
                                    'involvedObject.uid', 'involvedObject.apiVersion',
                                    'involvedObject.resourceVersion', 'involvedObject.fieldPath',
                                    'reason', 'reportingComponent', 'source', 'type']),
        Type('events.k8s.io', 'v1', 'Event', 'events', 'event', True, ['ev'], smp=True,
             field_labels=['regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid',
                           'regarding.apiVersion', 'regarding.resourceVersion', 'regarding.fieldPath',
                           'reason', 'reportingController', 'type']),
        Type('', 'v1', 'ConfigMap', 'configmaps', 'configmap', True, ['cm'], smp=True),
        Type('', 'v1', 'Secret', 'secrets', 'secret', True, smp=True, field_labels=['type']),
        Type('coordination.k8s.io', 'v1', 'Lease', 'leases', 'lease', True, smp=True),
        Type('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions',
             'customresourcedefinition', False, ['crd', 'crds'], ['api-extensions'], status=True,
             generation=True),
        # What a Helm chart of an operator renders (helm/trimtab): stored and served only, no
        # controller acts on them (a Deployment never gets pods; see README).
        Type('', 'v1', 'ServiceAccount', 'serviceaccounts', 'serviceaccount', True, ['sa'], smp=True),
        Type('', 'v1', 'Service', 'services', 'service', True, ['svc'], ['all'], status=True, smp=True),
        Type('apps', 'v1', 'Deployment', 'deployments', 'deployment', True, ['deploy'], ['all'],
             status=True, generation=True, smp=True),
        Type('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', 'role', True, smp=True),
        Type('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', 'rolebinding', True, smp=True),
        Type('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', 'clusterrole', False, smp=True),
        Type('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings',
             'clusterrolebinding', False, smp=True),
        Type('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', 'poddisruptionbudget', True,
             ['pdb'], status=True, generation=True, smp=True),
    ]


def crd_types(crd):
    """The Types a CRD object defines (one per served version)."""
    spec = crd['spec']
    names = spec['names']
    out = []
    for v in spec['versions']:
        if not v.get('served', True):
            continue
        subs = v.get('subresources') or {}
        s = (v.get('schema') or {}).get('openAPIV3Schema') or {'type': 'object',
                                                              'x-kubernetes-preserve-unknown-fields': True}
        s = sch.strip_compiled(s)
        sch.compile_rules(s, [])
        selectable = [f['jsonPath'].lstrip('.') for f in v.get('selectableFields') or []]
        out.append(Type(spec['group'], v['name'], names['kind'], names['plural'],
                        names.get('singular') or names['kind'].lower(), spec.get('scope') == 'Namespaced',
                        names.get('shortNames') or [], names.get('categories') or [],
                        status='status' in subs, storage=(spec['group'], names['plural']),
                        field_labels=selectable, crd=crd['metadata']['name'], schema=s,
                        columns=v.get('additionalPrinterColumns'), generation=True))
    return out


# ---- validation of built-in kinds -----------------------------------------------------------


def _req(obj, path, errs, maxlen=None):
    cur = obj
    for p in path.split('.'):
        cur = cur.get(p) if isinstance(cur, dict) else None
    if cur in (None, ''):
        errs.append(sch.FieldError('FieldValueRequired', path, None, ''))
    elif maxlen and isinstance(cur, str) and len(cur) > maxlen:
        errs.append(sch.FieldError('FieldValueTooLong', path, cur, 'may not be more than %d bytes' % maxlen,
                                   show_value=False))
    return cur


def normalize_builtin(t, obj):
    """What the API server does to built-in objects before storing them: a Secret's
    stringData moves into data (base64) and its type defaults to Opaque."""
    if t.kind == 'Secret':
        import base64
        sd = obj.pop('stringData', None) or {}
        if sd:
            data = obj.setdefault('data', {})
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
        obj.setdefault('type', 'Opaque')


def validate_builtin(t, obj, errs, creating):
    """The checks of the built-in kinds' API validation that clients are likely to trip on."""
    if t.kind == 'Secret':
        import base64
        import binascii
        for k, v in (obj.get('data') or {}).items():
            try:
                base64.b64decode(v, validate=True)
            except (binascii.Error, TypeError, ValueError):
                errs.append(sch.FieldError('FieldValueInvalid', 'data[%s]' % k, '<secret contents redacted>',
                                           'illegal base64 data'))
    if t.kind == 'Namespace':
        name = obj['metadata'].get('name', '')
        if name and not DNS1123_LABEL.match(name):
            errs.append(sch.FieldError('FieldValueInvalid', 'metadata.name', name,
                                       "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                                       "characters or '-', and must start and end with an alphanumeric character"))
    elif t.kind == 'Event' and t.group == 'events.k8s.io' and creating:
        # events.k8s.io/v1 is strict where the core API is lenient (ValidateEventCreate).
        _req(obj, 'eventTime', errs)
        _req(obj, 'reportingController', errs, 128)
        _req(obj, 'reportingInstance', errs, 128)
        _req(obj, 'action', errs, 128)
        _req(obj, 'reason', errs, 128)
        if len(obj.get('note') or '') > 1024:
            errs.append(sch.FieldError('FieldValueTooLong', 'note', '', 'may not be more than 1024 bytes',
                                       show_value=False))
        if obj.get('type') not in ('Normal', 'Warning'):
            errs.append(sch.FieldError('FieldValueNotSupported', 'type', obj.get('type'),
                                       'supported values: "Normal", "Warning"'))
        series = obj.get('series')
        if series is not None:
            if not isinstance(series.get('count'), int) or series.get('count') < 2:
                errs.append(sch.FieldError('FieldValueInvalid', 'series.count', series.get('count'),
                                           'should be at least 2'))
            _req(obj, 'series.lastObservedTime', errs)
    elif t.kind == 'Lease':
        spec = obj.get('spec') or {}
        d = spec.get('leaseDurationSeconds')
        if d is not None and (not isinstance(d, int) or d <= 0):
            errs.append(sch.FieldError('FieldValueInvalid', 'spec.leaseDurationSeconds', d, 'must be greater than 0'))
        n = spec.get('leaseTransitions')
        if n is not None and (not isinstance(n, int) or n < 0):
            errs.append(sch.FieldError('FieldValueInvalid', 'spec.leaseTransitions', n,
                                       'must be greater than or equal to 0'))
    elif t.kind == 'Deployment':
        spec = obj.get('spec') or {}
        sel = _req(obj, 'spec.selector', errs)
        containers = ((spec.get('template') or {}).get('spec') or {}).get('containers')
        if not containers:
            errs.append(sch.FieldError('FieldValueRequired', 'spec.template.spec.containers', None, ''))
        labels = ((spec.get('template') or {}).get('metadata') or {}).get('labels') or {}
        want = (sel or {}).get('matchLabels') or {} if isinstance(sel, dict) else {}
        if sel and any(labels.get(k) != v for k, v in want.items()):
            errs.append(sch.FieldError('FieldValueInvalid', 'spec.template.metadata.labels', labels,
                                       '`selector` does not match template `labels`'))
        r = spec.get('replicas')
        if r is not None and (not isinstance(r, int) or r < 0):
            errs.append(sch.FieldError('FieldValueInvalid', 'spec.replicas', r,
                                       'must be greater than or equal to 0'))
    elif t.kind in ('RoleBinding', 'ClusterRoleBinding'):
        _req(obj, 'roleRef.kind', errs)
        _req(obj, 'roleRef.name', errs)
    elif t.kind == 'CustomResourceDefinition':
        spec = obj.get('spec') or {}
        group = _req(obj, 'spec.group', errs)
        plural = _req(obj, 'spec.names.plural', errs)
        _req(obj, 'spec.names.kind', errs)
        if spec.get('scope') not in ('Namespaced', 'Cluster'):
            errs.append(sch.FieldError('FieldValueNotSupported', 'spec.scope', spec.get('scope'),
                                       'supported values: "Cluster", "Namespaced"'))
        if group and plural and obj['metadata'].get('name') != '%s.%s' % (plural, group):
            errs.append(sch.FieldError('FieldValueInvalid', 'metadata.name', obj['metadata'].get('name'),
                                       'must be spec.names.plural+"."+spec.group'))
        versions = spec.get('versions') or []
        if not versions:
            errs.append(sch.FieldError('FieldValueRequired', 'spec.versions', None, 'must have exactly one version marked as storage version'))
        elif sum(1 for v in versions if v.get('storage')) != 1:
            errs.append(sch.FieldError('FieldValueInvalid', 'spec.versions', len(versions),
                                       'must have exactly one version marked as storage version'))
        for i, v in enumerate(versions):
            s = (v.get('schema') or {}).get('openAPIV3Schema')
            if s is not None:
                sch.compile_rules(sch.strip_compiled(s), errs, 'spec.versions[%d].schema.openAPIV3Schema' % i)


# ---- Tables -------------------------------------------------------------------------------------


def parse_time(s):
    try:
        return datetime.datetime.strptime(s[:19], '%Y-%m-%dT%H:%M:%S').replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def human_duration(seconds):
    """apimachinery's duration.HumanDuration (what kubectl's AGE columns show)."""
    s = int(seconds)
    if s < -1:
        return '<invalid>'
    if s < 0:
        return '0s'
    if s < 120:
        return '%ds' % s
    m = s // 60
    if m < 10:
        return '%dm' % m if s % 60 == 0 else '%dm%ds' % (m, s % 60)
    if m < 180:
        return '%dm' % m
    h = m // 60
    if h < 8:
        return '%dh' % h if m % 60 == 0 else '%dh%dm' % (h, m % 60)
    if h < 48:
        return '%dh' % h
    if h < 24 * 8:
        return '%dd' % (h // 24) if h % 24 == 0 else '%dd%dh' % (h // 24, h % 24)
    if h < 24 * 365 * 2:
        return '%dd' % (h // 24)
    if h < 24 * 365 * 8:
        y = h // (24 * 365)
        d = (h % (24 * 365)) // 24
        return '%dy' % y if d == 0 else '%dy%dd' % (y, d)
    return '%dy' % (h // (24 * 365))


def age(ts, now):
    t = parse_time(ts)
    return human_duration((now - t).total_seconds()) if t else '<unknown>'


_JP_TOKEN = re.compile(r'\.([A-Za-z0-9_-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*(==|!=)\s*"([^"]*)"\)\]|\[\'([^\']+)\'\]')


def jsonpath(obj, expr):
    """The values a printer-column JSONPath selects (field steps, [N], [*], ['key'] and
    [?(@.f=="v")] filters: what CRD printer columns use)."""
    expr = expr.strip()
    if expr.startswith('{') and expr.endswith('}'):
        expr = expr[1:-1]
    if expr.startswith('$'):
        expr = expr[1:]
    cur = [obj]
    pos = 0
    while pos < len(expr):
        m = _JP_TOKEN.match(expr, pos)
        if not m:
            raise ValueError('unsupported JSONPath %r' % expr)
        pos = m.end()
        nxt = []
        for c in cur:
            if m.group(1) is not None or m.group(6) is not None:
                key = m.group(1) if m.group(1) is not None else m.group(6)
                if isinstance(c, dict) and key in c:
                    nxt.append(c[key])
            elif m.group(2) is not None:
                if isinstance(c, list):
                    if m.group(2) == '*':
                        nxt.extend(c)
                    elif int(m.group(2)) < len(c):
                        nxt.append(c[int(m.group(2))])
            else:
                if isinstance(c, list):
                    for item in c:
                        v = item
                        for p in m.group(3).split('.'):
                            v = v.get(p) if isinstance(v, dict) else None
                        if (str(v) == m.group(5) if v is not None else False) == (m.group(4) == '=='):
                            nxt.append(item)
        cur = nxt
    return cur


def table(t, objs, rv, include, now=None):
    """A meta.k8s.io/v1 Table of objects, with the columns `kubectl get` shows."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    name_col = {'name': 'Name', 'type': 'string', 'format': 'name', 'priority': 0,
                'description': 'Name must be unique within a namespace.'}
    age_col = {'name': 'Age', 'type': 'string', 'format': '', 'priority': 0,
               'description': 'CreationTimestamp is a timestamp representing the server time when this object was created.'}
    if t.crd:
        cols = [name_col]
        specs = t.columns if t.columns is not None else [
            {'name': 'Age', 'type': 'date', 'jsonPath': '.metadata.creationTimestamp'}]
        for c in specs:
            cols.append({'name': c['name'], 'type': c['type'], 'format': c.get('format', ''),
                         'description': c.get('description', ''), 'priority': c.get('priority', 0)})

        def cells(o):
            row = [o['metadata']['name']]
            for c in specs:
                try:
                    vals = jsonpath(o, c['jsonPath'])
                except ValueError:
                    vals = []
                if not vals or vals[0] is None:
                    row.append(None)
                    continue
                v = vals[0]
                if c['type'] == 'date':
                    v = age(v, now) if isinstance(v, str) else v
                elif c['type'] == 'integer' and isinstance(v, (int, float)) and not isinstance(v, bool):
                    v = int(v)
                elif c['type'] == 'string' and not isinstance(v, str):
                    v = str(v).lower() if isinstance(v, bool) else str(v)
                row.append(v)
            return row
    elif t.kind == 'Namespace':
        cols = [name_col, {'name': 'Status', 'type': 'string', 'format': '', 'priority': 0,
                           'description': 'The status of the namespace'}, age_col]

        def cells(o):
            return [o['metadata']['name'], (o.get('status') or {}).get('phase', 'Active'),
                    age(o['metadata'].get('creationTimestamp'), now)]
    elif t.kind in ('Secret', 'ConfigMap'):
        cols = [name_col] + ([{'name': 'Type', 'type': 'string', 'format': '', 'priority': 0,
                               'description': 'The type of the secret'}] if t.kind == 'Secret' else []) + [
            {'name': 'Data', 'type': 'string', 'format': '', 'priority': 0, 'description': 'The number of keys'},
            age_col]

        def cells(o):
            n = len(o.get('data') or {}) + len(o.get('binaryData') or {})
            return [o['metadata']['name']] + ([o.get('type', 'Opaque')] if t.kind == 'Secret' else []) + [
                n, age(o['metadata'].get('creationTimestamp'), now)]
    elif t.kind == 'Lease':
        cols = [name_col, {'name': 'Holder', 'type': 'string', 'format': '', 'priority': 0,
                           'description': 'The holder of the lease'}, age_col]

        def cells(o):
            return [o['metadata']['name'], (o.get('spec') or {}).get('holderIdentity', ''),
                    age(o['metadata'].get('creationTimestamp'), now)]
    elif t.kind == 'Event':
        cols = [{'name': 'Last Seen', 'type': 'string', 'format': '', 'priority': 0, 'description': ''},
                {'name': 'Type', 'type': 'string', 'format': '', 'priority': 0, 'description': ''},
                {'name': 'Reason', 'type': 'string', 'format': '', 'priority': 0, 'description': ''},
                {'name': 'Object', 'type': 'string', 'format': '', 'priority': 0, 'description': ''},
                {'name': 'Message', 'type': 'string', 'format': '', 'priority': 0, 'description': ''},
                dict(name_col, priority=1)]

        def cells(o):
            reg = o.get('regarding') or o.get('involvedObject') or {}
            last = ((o.get('series') or {}).get('lastObservedTime') or o.get('lastTimestamp')
                    or o.get('deprecatedLastTimestamp') or o.get('eventTime') or '')
            return [age(last, now), o.get('type', ''), o.get('reason', ''),
                    '%s/%s' % ((reg.get('kind') or '').lower(), reg.get('name', '')),
                    o.get('note', o.get('message', '')), o['metadata']['name']]
    else:
        cols = [name_col, {'name': 'Created At', 'type': 'date', 'format': '', 'priority': 0,
                           'description': ''}]

        def cells(o):
            return [o['metadata']['name'], o['metadata'].get('creationTimestamp')]
    rows = []
    for o in objs:
        row = {'cells': cells(o)}
        if include == 'Object':
            row['object'] = o
        elif include != 'None':
            row['object'] = {'kind': 'PartialObjectMetadata', 'apiVersion': 'meta.k8s.io/v1',
                             'metadata': o['metadata']}
        rows.append(row)
    return {'kind': 'Table', 'apiVersion': 'meta.k8s.io/v1', 'metadata': {'resourceVersion': rv},
            'columnDefinitions': cols, 'rows': rows}

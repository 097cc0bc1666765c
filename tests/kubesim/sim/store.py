"""The object store: every object of every type, one global resourceVersion counter (as etcd's
revision), the event history watches read from, compaction, and the write semantics of the API
server (generation, status subresource, finalizers and deletionTimestamp, optimistic
concurrency, namespaces and their termination, CRDs that define new types).

All state is guarded by one lock; `cond` wakes watchers when an event is appended."""

import base64
import bisect
import copy
import datetime
import json
import threading
import uuid

from . import kinds
from . import schema as sch

HISTORY_MAX = 50000  # events kept for watches; older ones are compacted away automatically


class ApiError(Exception):
    """An error the API server answers with a Status object."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        s = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
             'message': self.message, 'reason': self.reason, 'code': self.code}
        if self.details is not None:
            s['details'] = self.details
        return s


def now_ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def not_found(t, name):
    return ApiError(404, 'NotFound', '%s "%s" not found' % (t.qualified(), name),
                    {'name': name, 'group': t.group, 'kind': t.plural})


def conflict(t, name):
    return ApiError(409, 'Conflict', 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    'please apply your changes to the latest version and try again' % (t.qualified(), name),
                    {'name': name, 'group': t.group, 'kind': t.plural})


def invalid(t, name, errs):
    """A 422 Invalid Status built from field errors, as apierrors.NewInvalid does."""
    if len(errs) == 1:
        agg = errs[0].full()
    else:
        agg = '[' + ', '.join(e.full() for e in errs) + ']'
    return ApiError(422, 'Invalid', '%s "%s" is invalid: %s' % (t.kind_qualified(), name, agg),
                    {'name': name, 'group': t.group, 'kind': t.kind,
                     'causes': [{'reason': e.reason, 'message': e.message(), 'field': e.path} for e in errs]})


class Event:
    __slots__ = ('rv', 'storage', 'type', 'obj', 'old')

    def __init__(self, rv, storage, type_, obj, old):
        self.rv, self.storage, self.type, self.obj, self.old = rv, storage, type_, obj, old


class Store:
    def __init__(self):
        self._in_gc = False
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.reset()

    def reset(self):
        with self.lock:
            self.rv = 1
            self.objects = {}            # storage key → {(namespace, name): obj}
            self.history = []            # Events, rv ascending
            self.history_rvs = []        # their rvs, for bisecting
            self.compacted = 0           # watches from an rv below this get 410 Gone
            self.types = kinds.builtin_types()
            self.epoch = uuid.uuid4().hex  # changes on every reset (continue tokens die with it)
            for ns in ('default', 'kube-system', 'kube-public', 'kube-node-lease'):
                self._insert(self.type_of('', 'v1', 'namespaces'), {
                    'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': ns},
                    'spec': {'finalizers': ['kubernetes']}, 'status': {'phase': 'Active'}})
            self.cond.notify_all()

    # ---- types ----------------------------------------------------------------------------

    def type_of(self, group, version, plural):
        for t in self.types:
            if t.group == group and t.version == version and t.plural == plural:
                return t
        return None

    def _types_for_storage(self, storage):
        return [t for t in self.types if t.storage == storage]

    # ---- reading ---------------------------------------------------------------------------

    def bucket(self, t):
        return self.objects.setdefault(t.storage, {})

    def get(self, t, ns, name):
        with self.lock:
            o = self.bucket(t).get((ns or '', name))
            if o is None:
                raise not_found(t, name)
            return t.to_api(copy.deepcopy(o))

    def list(self, t, ns, match, limit=0, cont=None):
        """Objects of type t (in namespace ns, or all when None) for which match(obj) holds, in
        namespace/name order, with limit/continue paging. Returns (items, rv, continue, remaining)."""
        with self.lock:
            start = None
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont.encode()).decode())
                    start = tuple(tok['start'])
                    if tok['epoch'] != self.epoch or tok['rv'] < self.compacted:
                        raise ApiError(410, 'Expired', 'The provided continue parameter is too old to display a '
                                       'consistent list result. You can start a new list without the continue parameter.')
                except (ValueError, KeyError, TypeError):
                    raise ApiError(400, 'BadRequest', 'continue key is not valid: illegal base64 data')
            items = []
            for key in sorted(self.bucket(t)):
                if ns is not None and key[0] != ns:
                    continue
                if start is not None and key <= start:
                    continue
                o = t.to_api(copy.deepcopy(self.bucket(t)[key]))
                if match(o):
                    items.append((key, o))
            nxt, remaining = None, None
            if limit and len(items) > limit:
                remaining = len(items) - limit
                items = items[:limit]
                nxt = base64.urlsafe_b64encode(json.dumps(
                    {'epoch': self.epoch, 'rv': self.rv, 'start': list(items[-1][0])}).encode()).decode()
            return [o for _, o in items], str(self.rv), nxt, remaining

    # ---- the write path --------------------------------------------------------------------

    def _next_rv(self):
        self.rv += 1
        return self.rv

    def _emit(self, t, type_, obj, old):
        self._append(Event(self.rv, t.storage, type_, copy.deepcopy(obj),
                           copy.deepcopy(old) if old is not None else None))

    def _append(self, event):
        self.history.append(event)
        self.history_rvs.append(event.rv)
        if len(self.history) > HISTORY_MAX:
            drop = len(self.history) - HISTORY_MAX
            self.compacted = self.history[drop - 1].rv + 1
            del self.history[:drop]
            del self.history_rvs[:drop]
        self.cond.notify_all()

    def _insert(self, t, obj):
        md = obj['metadata']
        md['uid'] = str(uuid.uuid4())
        md['creationTimestamp'] = now_ts()
        md['resourceVersion'] = str(self._next_rv())
        if t.generation:
            md['generation'] = 1
        stored = t.from_api(obj)
        self.bucket(t)[(md.get('namespace', ''), md['name'])] = stored
        self._emit(t, 'ADDED', stored, None)
        return stored

    def events_since(self, rv):
        """History events with an rv above `rv` (the caller holds the lock)."""
        return self.history[bisect.bisect_right(self.history_rvs, rv):]

    def compact(self):
        """Forgets the event history (as an etcd compaction does): a watch or a continue token
        from before now gets 410 Gone."""
        with self.lock:
            self.compacted = self.rv + 1
            self.history = []
            self.history_rvs = []
            # A compaction also moves the counter on, so "the current rv" is never too old.
            self._next_rv()
            self.cond.notify_all()
            return self.rv

    def _check_namespace(self, t, ns, creating):
        if not t.namespaced:
            return
        nst = self.type_of('', 'v1', 'namespaces')
        n = self.bucket(nst).get(('', ns))
        if n is None:
            raise ApiError(404, 'NotFound', 'namespaces "%s" not found' % ns,
                           {'name': ns, 'kind': 'namespaces'})
        if creating and n['metadata'].get('deletionTimestamp'):
            raise ApiError(403, 'Forbidden', 'unable to create new content in namespace %s because it is being '
                           'terminated' % ns, {'name': ns, 'kind': 'namespaces', 'causes': [{
                               'reason': 'NamespaceTerminating', 'message': 'namespace %s is being terminated' % ns,
                               'field': 'metadata.namespace'}]})

    def _validate(self, t, obj, old, creating, field_validation, warnings):
        """Defaulting, pruning and validation of an incoming object; raises 400/422."""
        md = obj.get('metadata')
        name = md.get('name', '') if isinstance(md, dict) else ''
        errs = []
        if t.crd:
            unknown = []
            sch.prune(t.schema, obj, '', unknown, root=True)
            if unknown:
                if field_validation == 'Strict':
                    msg = ', '.join('unknown field "%s"' % u for u in unknown)
                    raise ApiError(400, 'BadRequest', 'strict decoding error: ' + msg)
                if field_validation == 'Warn':
                    warnings.extend('unknown field "%s"' % u for u in unknown)
            sch.apply_defaults(t.schema, obj)
            body = {k: v for k, v in obj.items() if k not in ('apiVersion', 'kind', 'metadata')}
            old_body = {k: v for k, v in (old or {}).items() if k not in ('apiVersion', 'kind', 'metadata')}
            props = {k: v for k, v in (t.schema.get('properties') or {}).items() if k != 'metadata'}
            vschema = dict(t.schema, properties=props)
            vschema.pop('required', None)
            req = [r for r in t.schema.get('required') or [] if r not in ('apiVersion', 'kind', 'metadata')]
            if req:
                vschema['required'] = req
            sch.validate(vschema, body, '', errs, old_body if old is not None else None, old is not None)
            if name and not kinds.DNS1123_SUBDOMAIN.match(name):
                errs.insert(0, sch.FieldError('FieldValueInvalid', 'metadata.name', name,
                                              "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                                              "characters, '-' or '.', and must start and end with an alphanumeric character"))
        else:
            kinds.normalize_builtin(t, obj)
            kinds.validate_builtin(t, obj, errs, creating)
        if errs:
            raise invalid(t, name, errs)

    def _common_checks(self, t, obj, ns, name):
        if not isinstance(obj, dict) or not isinstance(obj.get('metadata', {}), dict):
            raise ApiError(400, 'BadRequest', 'the body of the request was in an unknown format')
        kind, api_version = obj.get('kind'), obj.get('apiVersion')
        if api_version and api_version != t.api_version:
            raise ApiError(400, 'BadRequest', 'the API version in the data (%s) does not match the expected API '
                           'version (%s)' % (api_version, t.api_version))
        if kind and kind != t.kind:
            raise ApiError(400, 'BadRequest', 'the kind in the data (%s) does not match the expected kind (%s)'
                           % (kind, t.kind))
        md = obj.setdefault('metadata', {})
        if t.namespaced:
            if md.get('namespace') not in (None, '', ns):
                raise ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace '
                               'sent on the request')
            md['namespace'] = ns
        else:
            md.pop('namespace', None)
        if name is not None and md.get('name') not in (None, name):
            raise ApiError(400, 'BadRequest', 'the name of the object (%s) does not match the name on the URL (%s)'
                           % (md.get('name'), name))
        obj['apiVersion'], obj['kind'] = t.api_version, t.kind

    def create(self, t, ns, obj, dry_run=False, field_validation='Strict', manager=None, warnings=None,
               operation='Update'):
        warnings = [] if warnings is None else warnings
        with self.lock:
            self._common_checks(t, obj, ns, None)
            md = obj['metadata']
            if not md.get('name'):
                if md.get('generateName'):
                    md['name'] = md['generateName'] + uuid.uuid4().hex[:5]
                else:
                    raise invalid(t, '', [sch.FieldError('FieldValueRequired', 'metadata.name', None,
                                                         'name or generateName is required')])
            self._check_namespace(t, ns, True)
            for k in ('uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
                      'deletionGracePeriodSeconds', 'selfLink'):
                md.pop(k, None)
            if t.status and t.kind not in ('Namespace', 'CustomResourceDefinition'):
                obj.pop('status', None)  # with a status subresource, create does not set status
            self._validate(t, obj, None, True, field_validation, warnings)
            key = (md.get('namespace', ''), md['name'])
            if key in self.bucket(t):
                raise ApiError(409, 'AlreadyExists', '%s "%s" already exists' % (t.qualified(), md['name']),
                               {'name': md['name'], 'group': t.group, 'kind': t.plural})
            if t.kind == 'CustomResourceDefinition':
                self._crd_prepare(obj, None)
            if t.kind == 'Namespace':
                # The label every namespace carries since Kubernetes 1.21 (for selectors).
                md.setdefault('labels', {})['kubernetes.io/metadata.name'] = md['name']
                obj.setdefault('spec', {}).setdefault('finalizers', ['kubernetes'])
                obj['status'] = {'phase': 'Active'}
            self._set_managed(obj, None, manager, operation, None)
            if dry_run:
                md['uid'] = str(uuid.uuid4())
                md['creationTimestamp'] = now_ts()
                if t.generation:
                    md['generation'] = 1
                return t.to_api(obj)
            stored = self._insert(t, obj)
            if t.kind == 'CustomResourceDefinition':
                self._crd_changed()
            return t.to_api(copy.deepcopy(stored))

    def update(self, t, ns, name, obj, subresource=None, dry_run=False, field_validation='Strict',
               manager=None, operation='Update', warnings=None):
        """PUT semantics (patches arrive here after being applied to the current object). Returns
        (object, created); an update never creates (PUT of a missing object is 404, as for every
        kind kubesim serves)."""
        warnings = [] if warnings is None else warnings
        with self.lock:
            self._common_checks(t, obj, ns, name)
            key = (ns or '', name)
            cur_stored = self.bucket(t).get(key)
            if cur_stored is None:
                raise not_found(t, name)
            cur = t.to_api(copy.deepcopy(cur_stored))
            md = obj['metadata']
            want_rv = md.get('resourceVersion')
            if want_rv in (None, ''):
                if t.crd and operation == 'Update':
                    # Custom resources do not allow unconditional updates (PUT without a version).
                    raise invalid(t, name, [sch.FieldError('FieldValueInvalid', 'metadata.resourceVersion', 0,
                                                           'must be specified for an update')])
            elif want_rv != cur['metadata']['resourceVersion']:
                raise conflict(t, name)
            new = copy.deepcopy(obj)
            nmd = new['metadata']
            # Fields the server owns are kept from the current object.
            for k in ('uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'):
                if k in cur['metadata']:
                    nmd[k] = cur['metadata'][k]
                else:
                    nmd.pop(k, None)
            if subresource == 'status':
                # /status: only the status changes; metadata and spec are the current ones.
                new = dict(cur, status=new.get('status'))
                if new['status'] is None:
                    new.pop('status')
                new['metadata'] = copy.deepcopy(cur['metadata'])
            elif subresource == 'finalize':
                spec = dict(cur.get('spec') or {}, finalizers=(new.get('spec') or {}).get('finalizers') or [])
                new = dict(cur, spec=spec)
                new['metadata'] = copy.deepcopy(cur['metadata'])
            elif t.status:
                # The main resource ignores status changes when a status subresource exists.
                if 'status' in cur:
                    new['status'] = copy.deepcopy(cur['status'])
                else:
                    new.pop('status', None)
            if cur['metadata'].get('deletionTimestamp'):
                added = set(nmd.get('finalizers') or []) - set(cur['metadata'].get('finalizers') or [])
                if added and subresource is None:
                    raise invalid(t, name, [sch.FieldError('FieldValueForbidden', 'metadata.finalizers',
                                                           sorted(added), 'no new finalizers can be added if the '
                                                           'object is being deleted', show_value=False)])
            if t.kind == 'Namespace':
                new['metadata'].setdefault('labels', {})['kubernetes.io/metadata.name'] = name
            self._validate(t, new, cur, False, field_validation, warnings)
            if t.kind == 'CustomResourceDefinition' and subresource is None:
                self._crd_prepare(new, cur)
            if t.generation and self._spec_changed(t, cur, new):
                new['metadata']['generation'] = cur['metadata'].get('generation', 1) + 1
            self._set_managed(new, cur, manager, operation, subresource)
            same = self._strip_volatile(new) == self._strip_volatile(cur)
            if same:
                return cur, False  # a no-op write keeps the resourceVersion and emits nothing
            if dry_run:
                return new, False  # what the write would store; the resourceVersion stays
            nmd = new['metadata']
            nmd['resourceVersion'] = str(self._next_rv())
            if nmd.get('deletionTimestamp') and not nmd.get('finalizers') and t.kind != 'Namespace':
                return self._remove(t, key, new), False
            stored = t.from_api(new)
            self.bucket(t)[key] = stored
            self._emit(t, 'MODIFIED', stored, cur_stored)
            if t.kind == 'CustomResourceDefinition':
                self._crd_changed()
            if t.kind == 'Namespace':
                self._namespace_gc()
            return t.to_api(copy.deepcopy(stored)), False

    @staticmethod
    def _strip_volatile(o):
        """An object without what a no-op write may change anyway (times of managedFields
        entries, the resourceVersion), to tell a no-op from a change."""
        o = copy.deepcopy(o)
        mf = o['metadata'].pop('managedFields', None) or []
        o['metadata']['managedFields'] = sorted((e.get('manager', ''), e.get('operation', ''),
                                                 e.get('subresource', '')) for e in mf)
        o['metadata'].pop('resourceVersion', None)
        return o

    @staticmethod
    def _spec_changed(t, cur, new):
        """Generation moves on any change outside metadata (and outside status when status is a
        subresource) — and when deletion starts."""
        skip = {'metadata', 'apiVersion', 'kind'} | ({'status'} if t.status else set())
        a = {k: v for k, v in cur.items() if k not in skip}
        b = {k: v for k, v in new.items() if k not in skip}
        return a != b

    def _set_managed(self, new, cur, manager, operation, subresource):
        """managedFields: one entry per (manager, operation, subresource), with the fields of
        the whole object (a simplification: real servers track exactly what each manager set)."""
        if not manager:
            return
        from .patch import fields_v1
        entries = [e for e in ((cur or {}).get('metadata', {}).get('managedFields') or [])
                   if not (e.get('manager') == manager and e.get('operation') == operation
                           and e.get('subresource', '') == (subresource or ''))]
        body = {k: v for k, v in new.items() if k not in ('apiVersion', 'kind')}
        body['metadata'] = {k: v for k, v in new['metadata'].items()
                            if k in ('labels', 'annotations', 'finalizers', 'ownerReferences')}
        if subresource == 'status':
            body = {'status': new.get('status', {})}
        elif self._has_status_sub(new):
            body.pop('status', None)  # the main resource does not own status fields
        e = {'manager': manager, 'operation': operation, 'apiVersion': new['apiVersion'],
             'time': now_ts(), 'fieldsType': 'FieldsV1', 'fieldsV1': fields_v1(body)}
        if subresource:
            e['subresource'] = subresource
        entries.append(e)
        new['metadata']['managedFields'] = entries

    def _has_status_sub(self, obj):
        t = next((x for x in self.types if x.api_version == obj.get('apiVersion') and x.kind == obj.get('kind')), None)
        return bool(t and t.status)

    def delete(self, t, ns, name, preconditions=None, dry_run=False):
        with self.lock:
            key = (ns or '', name)
            cur_stored = self.bucket(t).get(key)
            if cur_stored is None:
                raise not_found(t, name)
            cur = t.to_api(copy.deepcopy(cur_stored))
            pre = preconditions or {}
            if pre.get('uid') and pre['uid'] != cur['metadata']['uid']:
                raise ApiError(409, 'Conflict', 'Precondition failed: UID in precondition: %s, UID in object meta: %s'
                               % (pre['uid'], cur['metadata']['uid']), {'name': name, 'group': t.group, 'kind': t.plural})
            if pre.get('resourceVersion') and pre['resourceVersion'] != cur['metadata']['resourceVersion']:
                raise ApiError(409, 'Conflict', 'Precondition failed: ResourceVersion in precondition: %s, '
                               'ResourceVersion in object meta: %s' % (pre['resourceVersion'],
                                                                      cur['metadata']['resourceVersion']),
                               {'name': name, 'group': t.group, 'kind': t.plural})
            pending = cur['metadata'].get('finalizers') or (
                (cur.get('spec') or {}).get('finalizers') if t.kind == 'Namespace' else None)
            if dry_run:
                return cur, bool(pending)
            if pending:
                if cur['metadata'].get('deletionTimestamp'):
                    return cur, True  # already being deleted: nothing changes
                new = copy.deepcopy(cur)
                new['metadata']['deletionTimestamp'] = now_ts()
                new['metadata']['deletionGracePeriodSeconds'] = 0
                if t.generation:
                    new['metadata']['generation'] = cur['metadata'].get('generation', 1) + 1
                if t.kind == 'Namespace':
                    new['status'] = {'phase': 'Terminating'}
                new['metadata']['resourceVersion'] = str(self._next_rv())
                stored = t.from_api(new)
                self.bucket(t)[key] = stored
                self._emit(t, 'MODIFIED', stored, cur_stored)
                if t.kind == 'Namespace':
                    self._namespace_gc()
                return t.to_api(copy.deepcopy(stored)), True
            self._next_rv()
            return self._remove(t, key, cur), False

    def _remove(self, t, key, last):
        """Removes an object; the DELETED event carries its last state with a new rv."""
        last = copy.deepcopy(last)
        last['metadata']['resourceVersion'] = str(self.rv)
        old = self.bucket(t).pop(key)
        self._emit(t, 'DELETED', t.from_api(last), old)
        if t.kind == 'CustomResourceDefinition':
            self._crd_changed()
        if t.namespaced:
            self._namespace_gc()
        return last

    # ---- namespaces ---------------------------------------------------------------------------

    def _namespace_gc(self):
        """The namespace controller, run inline: a terminating namespace has its content deleted
        (objects with finalizers wait for them) and goes away once it is empty."""
        if self._in_gc:
            return  # deletions made by the pass below do not start another pass
        self._in_gc = True
        try:
            self._namespace_gc_pass()
        finally:
            self._in_gc = False

    def _namespace_gc_pass(self):
        nst = self.type_of('', 'v1', 'namespaces')
        for key, ns in list(self.bucket(nst).items()):
            if not ns['metadata'].get('deletionTimestamp'):
                continue
            name = ns['metadata']['name']
            for storage, objs in list(self.objects.items()):
                ts = self._types_for_storage(storage)
                if not ts or not ts[0].namespaced:
                    continue
                for okey in [k for k in objs if k[0] == name]:
                    o = objs.get(okey)
                    if o is None:
                        continue
                    if not o['metadata'].get('deletionTimestamp'):
                        self.delete(ts[0], name, okey[1])
            if not any(k[0] == name for objs in self.objects.values() for k in objs):
                if key in self.bucket(nst):
                    self._next_rv()
                    cur = copy.deepcopy(self.bucket(nst)[key])
                    cur['spec']['finalizers'] = []
                    self._remove(nst, key, cur)

    # ---- CRDs ---------------------------------------------------------------------------------

    def _crd_prepare(self, obj, cur):
        spec = obj['spec']
        names = dict(spec['names'])
        names.setdefault('singular', names['kind'].lower())
        names.setdefault('listKind', names['kind'] + 'List')
        spec['names'] = names
        spec.setdefault('conversion', {'strategy': 'None'})
        t = now_ts()
        obj['status'] = {
            'acceptedNames': names,
            'conditions': [
                {'type': 'NamesAccepted', 'status': 'True', 'reason': 'NoConflicts',
                 'message': 'no conflicts found', 'lastTransitionTime': t},
                {'type': 'Established', 'status': 'True', 'reason': 'InitialNamesAccepted',
                 'message': 'the initial names have been accepted', 'lastTransitionTime': t}],
            'storedVersions': sorted({v['name'] for v in spec['versions'] if v.get('storage')}
                                     | set(((cur or {}).get('status') or {}).get('storedVersions') or [])),
        }
        if cur is not None and (cur.get('status') or {}).get('conditions'):
            obj['status']['conditions'] = cur['status']['conditions']

    def _crd_changed(self):
        """Rebuilds the served types from the CRDs; instances of a removed CRD are deleted."""
        crdt = self.type_of('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')
        old_storages = {t.storage for t in self.types if t.crd}
        new_types = kinds.builtin_types()
        for crd in sorted(self.bucket(crdt).values(), key=lambda o: o['metadata']['name']):
            if crd['metadata'].get('deletionTimestamp'):
                continue
            new_types.extend(kinds.crd_types(crd))
        self.types = new_types
        for storage in old_storages - {t.storage for t in self.types if t.crd}:
            gone = self.objects.pop(storage, {})
            for o in gone.values():
                self._next_rv()
                last = copy.deepcopy(o)
                last['metadata']['resourceVersion'] = str(self.rv)
                self._append(Event(self.rv, storage, 'DELETED', last, o))

    def dump(self):
        with self.lock:
            return {'resourceVersion': self.rv, 'compacted': self.compacted,
                    'objects': {'%s/%s' % s: sorted('%s/%s' % k for k in objs) for s, objs in self.objects.items()}}

"""The four patch types the API server accepts: JSON merge patch (RFC 7386), JSON patch
(RFC 6902), strategic merge patch (simplified: see README) and server-side apply (applied as a
merge, see README). Each function takes the current object and returns a new one; a patch
that cannot be applied raises PatchError (the API server answers it with a 4xx Status)."""

import copy
import json


class PatchError(Exception):
    def __init__(self, message, code=422, reason='Invalid'):
        super().__init__(message)
        self.code = code
        self.reason = reason


def merge_patch(target, patch):
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---- RFC 6902 ----------------------------------------------------------------------------------


def _pointer(path):
    if path == '':
        return []
    if not path.startswith('/'):
        raise PatchError('invalid JSON pointer %r' % path, 400, 'BadRequest')
    return [p.replace('~1', '/').replace('~0', '~') for p in path[1:].split('/')]


def _walk(doc, parts, path):
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise PatchError("doc is missing path: \"%s\": missing value" % path)
    return cur


def _add(doc, parts, value, path, replace=False):
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError("replace operation does not apply: doc is missing key: %s: missing value" % path)
        parent[last] = value
    elif isinstance(parent, list):
        if last == '-' and not replace:
            parent.append(value)
            return doc
        if not last.isdigit():
            raise PatchError('invalid array index %r in %s' % (last, path))
        i = int(last)
        if replace:
            if i >= len(parent):
                raise PatchError("replace operation does not apply: doc is missing path: %s: missing value" % path)
            parent[i] = value
        elif i > len(parent):
            raise PatchError('add operation does not apply: index out of bounds: %s' % path)
        else:
            parent.insert(i, value)
    else:
        raise PatchError("doc is missing path: \"%s\": missing value" % path)
    return doc


def _remove(doc, parts, path):
    if not parts:
        raise PatchError('cannot remove the whole document', 422)
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise PatchError("remove operation does not apply: doc is missing path: \"%s\": missing value" % path)


def json_patch(target, ops):
    """RFC 6902 add, remove, replace, move, copy and test, applied in order on a copy."""
    if not isinstance(ops, list):
        raise PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch', 400, 'BadRequest')
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or 'op' not in op or 'path' not in op:
            raise PatchError('Unable to parse patch: every operation needs op and path', 400, 'BadRequest')
        kind, path = op['op'], op['path']
        parts = _pointer(path)
        if kind in ('add', 'replace', 'test') and 'value' not in op:
            raise PatchError('%s operation does not apply: missing value' % kind)
        if kind == 'add':
            doc = _add(doc, parts, copy.deepcopy(op['value']), path)
        elif kind == 'replace':
            doc = _add(doc, parts, copy.deepcopy(op['value']), path, replace=True)
        elif kind == 'remove':
            _remove(doc, parts, path)
        elif kind in ('move', 'copy'):
            frm = op.get('from')
            if frm is None:
                raise PatchError('%s operation does not apply: missing from' % kind)
            fparts = _pointer(frm)
            value = _remove(doc, fparts, frm) if kind == 'move' else copy.deepcopy(_walk(doc, fparts, frm))
            doc = _add(doc, parts, value, path)
        elif kind == 'test':
            if _walk(doc, parts, path) != op['value']:
                raise PatchError('testing value %s failed: test failed' % path)
        else:
            raise PatchError('Unexpected kind: %s' % kind, 400, 'BadRequest')
    return doc


# ---- strategic merge patch (simplified) ---------------------------------------------------------

# The lists of built-in kinds that strategic merge patches merge instead of replacing: the
# list's path suffix → its merge key (None: a list of scalars merged as a set).
SMP_LISTS = {
    ('metadata', 'finalizers'): None,
    ('metadata', 'ownerReferences'): 'uid',
    ('spec', 'finalizers'): None,
    ('related',): None,
    # Pod templates (Deployments), Services and ServiceAccounts: the keys of their Go types'
    # patchMergeKey tags, so a patch naming one container changes that container only.
    ('spec', 'containers'): 'name',
    ('spec', 'initContainers'): 'name',
    ('spec', 'volumes'): 'name',
    ('spec', 'imagePullSecrets'): 'name',
    ('containers', 'env'): 'name',
    ('containers', 'ports'): 'containerPort',
    ('containers', 'volumeMounts'): 'mountPath',
    ('initContainers', 'env'): 'name',
    ('initContainers', 'volumeMounts'): 'mountPath',
    ('spec', 'ports'): 'port',
    ('secrets',): 'name',
}


def strategic_merge_patch(target, patch, path=()):
    """Merge patch semantics plus the directives kubectl sends for built-in kinds:
    `$patch: delete|replace` on maps, `$deleteFromPrimitiveList/<field>`,
    `$setElementOrder/<field>` (ignored: order is kept as merged), and merging (not replacing)
    of the lists in SMP_LISTS."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get('$patch')
    if directive == 'delete':
        return None
    if directive == 'replace':
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != '$patch'}
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k == '$patch' or k.startswith('$setElementOrder/') or k == '$retainKeys':
            continue
        if k.startswith('$deleteFromPrimitiveList/'):
            field = k.split('/', 1)[1]
            if isinstance(out.get(field), list):
                out[field] = [x for x in out[field] if x not in (v or [])]
            continue
        sub = path + (k,)
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and isinstance(out.get(k), list) and sub[-2:] in SMP_LISTS:
            key = SMP_LISTS[sub[-2:]]
            merged = list(out[k])
            for item in v:
                if key is None:
                    if item not in merged:
                        merged.append(item)
                elif isinstance(item, dict):
                    idx = next((i for i, m in enumerate(merged)
                                if isinstance(m, dict) and m.get(key) == item.get(key)), None)
                    if item.get('$patch') == 'delete':
                        if idx is not None:
                            merged.pop(idx)
                    elif idx is None:
                        merged.append(item)
                    else:
                        merged[idx] = strategic_merge_patch(merged[idx], item, sub)
            out[k] = merged
        elif isinstance(v, dict):
            r = strategic_merge_patch(out.get(k), v, sub)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = copy.deepcopy(v)
    return out


# ---- server-side apply (as a merge) -------------------------------------------------------------


def apply_patch(target, applied):
    """Server-side apply simplified to a merge: the applied configuration's fields replace the
    live ones (objects merge recursively, lists are atomic), fields it omits are kept. Real SSA
    also removes fields the same manager applied before and omits now, and reports conflicts
    between managers; kubesim does neither (README)."""
    if not isinstance(applied, dict):
        return copy.deepcopy(applied)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in applied.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = apply_patch(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def fields_v1(obj):
    """The FieldsV1 set (`f:` keys) of every field an object sets; lists are atomic leaves."""
    if not isinstance(obj, dict):
        return {}
    out = {}
    for k, v in obj.items():
        out['f:' + k] = fields_v1(v) if isinstance(v, dict) else {}
    return out


def decode_body(raw, content_type):
    """The patch document of a request body (apply patches may be YAML)."""
    text = raw.decode('utf-8')
    if content_type.startswith('application/apply-patch+yaml'):
        try:
            return json.loads(text)
        except ValueError:
            import yaml  # PyYAML; kubectl sends JSON (which is YAML), other clients may not
            return yaml.safe_load(text)
    return json.loads(text)

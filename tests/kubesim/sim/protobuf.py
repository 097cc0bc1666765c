"""Decoding of the Kubernetes protobuf encoding, for the one place kubectl insists on it: its
typed clients (`kubectl create namespace`, helm's release storage in Secrets) send built-in
objects as `application/vnd.kubernetes.protobuf` and do not fall back to JSON on 415. Only
Namespace, Secret, ConfigMap, DeleteOptions and TokenRequest bodies are understood (ObjectMeta without managedFields and
ownerReferences); answers are always JSON, which those clients accept too."""

MAGIC = b'k8s\x00'


class ProtobufError(Exception):
    pass


def _varint(buf, pos):
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError('truncated varint')
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError('varint too long')


def fields(buf):
    """(field number, wire type, value) of every field of a message, in order."""
    pos, out = 0, []
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = _varint(buf, pos)
        elif wt == 2:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise ProtobufError('truncated field %d' % num)
            v, pos = buf[pos:pos + n], pos + n
        elif wt == 1:
            v, pos = buf[pos:pos + 8], pos + 8
        elif wt == 5:
            v, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ProtobufError('unsupported wire type %d' % wt)
        out.append((num, wt, v))
    return out


def _time(buf):
    import datetime
    secs = 0
    for num, _, v in fields(buf):
        if num == 1:
            secs = v
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _string_map(entries):
    out = {}
    for e in entries:
        k = v = ''
        for num, _, x in fields(e):
            if num == 1:
                k = x.decode()
            elif num == 2:
                v = x.decode()
        out[k] = v
    return out


_META_STRINGS = {1: 'name', 2: 'generateName', 3: 'namespace', 4: 'selfLink', 5: 'uid', 6: 'resourceVersion'}


def object_meta(buf):
    md, labels, annotations, finalizers = {}, [], [], []
    for num, _, v in fields(buf):
        if num in _META_STRINGS:
            md[_META_STRINGS[num]] = v.decode()
        elif num == 7:
            md['generation'] = v
        elif num == 8:
            md['creationTimestamp'] = _time(v)
        elif num == 11:
            labels.append(v)
        elif num == 12:
            annotations.append(v)
        elif num == 14:
            finalizers.append(v.decode())
    if labels:
        md['labels'] = _string_map(labels)
    if annotations:
        md['annotations'] = _string_map(annotations)
    if finalizers:
        md['finalizers'] = finalizers
    return {k: v for k, v in md.items() if v not in ('', None)}


def _bytes_map(entries):
    import base64
    out = {}
    for e in entries:
        k, v = '', b''
        for num, _, x in fields(e):
            if num == 1:
                k = x.decode()
            elif num == 2:
                v = x
        out[k] = base64.b64encode(v).decode()
    return out


def _secret(raw):
    obj = {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {}}
    data, string_data = [], []
    for num, _, v in fields(raw):
        if num == 1:
            obj['metadata'] = object_meta(v)
        elif num == 2:
            data.append(v)
        elif num == 3:
            obj['type'] = v.decode()
        elif num == 4:
            string_data.append(v)
        elif num == 5:
            obj['immutable'] = bool(v)
    if data:
        obj['data'] = _bytes_map(data)
    if string_data:
        obj['stringData'] = _string_map(string_data)
    return obj


def _configmap(raw):
    obj = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {}}
    data, binary = [], []
    for num, _, v in fields(raw):
        if num == 1:
            obj['metadata'] = object_meta(v)
        elif num == 2:
            data.append(v)
        elif num == 3:
            binary.append(v)
        elif num == 4:
            obj['immutable'] = bool(v)
    if data:
        obj['data'] = _string_map(data)
    if binary:
        obj['binaryData'] = _bytes_map(binary)
    return obj


def _delete_options(raw):
    obj = {'apiVersion': 'v1', 'kind': 'DeleteOptions'}
    for num, _, v in fields(raw):
        if num == 1:
            obj['gracePeriodSeconds'] = v
        elif num == 2:
            pre = {}
            for n2, _, x in fields(v):
                pre['uid' if n2 == 1 else 'resourceVersion'] = x.decode()
            obj['preconditions'] = pre
        elif num == 4:
            obj['propagationPolicy'] = v.decode()
        elif num == 5:
            obj.setdefault('dryRun', []).append(v.decode())
    return obj


def _token_request(raw):
    """authentication.k8s.io/v1 TokenRequest (`kubectl create token`): spec.audiences (1),
    boundObjectRef (3: kind, apiVersion, name, uid) and expirationSeconds (4)."""
    obj = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenRequest', 'metadata': {}, 'spec': {}}
    for num, _, v in fields(raw):
        if num == 1:
            obj['metadata'] = object_meta(v)
        elif num == 2:
            spec = obj['spec']
            for n2, _, x in fields(v):
                if n2 == 1:
                    spec.setdefault('audiences', []).append(x.decode())
                elif n2 == 3:
                    ref = {}
                    for n3, _, y in fields(x):
                        if n3 in (1, 2, 3, 4):
                            ref[('kind', 'apiVersion', 'name', 'uid')[n3 - 1]] = y.decode()
                    spec['boundObjectRef'] = ref
                elif n2 == 4:
                    spec['expirationSeconds'] = x
    return obj


def decode(body):
    """The JSON form of a protobuf-encoded Namespace, Secret, ConfigMap, DeleteOptions or
    TokenRequest (what kubectl's and helm's typed clients send); ProtobufError for anything
    else."""
    if not body.startswith(MAGIC):
        raise ProtobufError('missing the k8s protobuf magic number')
    type_meta, raw = {}, b''
    for num, _, v in fields(body[len(MAGIC):]):
        if num == 1:
            for n2, _, x in fields(v):
                type_meta['apiVersion' if n2 == 1 else 'kind'] = x.decode()
        elif num == 2:
            raw = v
    if type_meta.get('kind') == 'DeleteOptions':
        return _delete_options(raw)
    if type_meta.get('apiVersion') == 'authentication.k8s.io/v1' and type_meta.get('kind') == 'TokenRequest':
        return _token_request(raw)
    if type_meta.get('apiVersion') == 'v1' and type_meta.get('kind') == 'Secret':
        return _secret(raw)
    if type_meta.get('apiVersion') == 'v1' and type_meta.get('kind') == 'ConfigMap':
        return _configmap(raw)
    if type_meta.get('kind') != 'Namespace' or type_meta.get('apiVersion') != 'v1':
        raise ProtobufError('kubesim decodes protobuf only for v1 Namespace, Secret and ConfigMap, not %s %s'
                            % (type_meta.get('apiVersion'), type_meta.get('kind')))
    obj = {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {}}
    for num, _, v in fields(raw):
        if num == 1:
            obj['metadata'] = object_meta(v)
        elif num == 2:
            fin = [x.decode() for n2, _, x in fields(v) if n2 == 1]
            if fin:
                obj['spec'] = {'finalizers': fin}
    return obj

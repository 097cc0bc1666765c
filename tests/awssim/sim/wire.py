"""The generic wire layer: request -> input dict, output dict -> response, for all four
protocols, driven only by botocore's shapes.

Values inside the simulator are plain Python: str, int, float, bool, bytes, list, dict, and
timestamps as epoch seconds (float). Member names are the model's member names; keys starting
with "_" are private to a service and never serialised.

Parsing mirrors botocore's serializers (serialize.py) and serialisation mirrors its parsers
(parsers.py), so whatever botocore sends is understood and whatever AWS would answer is what
botocore reads: Query lists as "Name.member.N" (or the member's locationName, or flattened),
maps as "Name.entry.N.key/value", JSON with base64 blobs and epoch timestamps, REST members
bound to the URI, query string, headers, status code or payload, XML with locationNames,
flattened lists and namespaces.
"""

import base64
import binascii
import json
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as _xml_escape

from . import util
from .errors import AwsError, TypeProblem

STRICT = util.env_flag('AWSSIM_STRICT')


class HttpRequest:
    """What the HTTP server received. query maps names to lists of decoded values; query_pairs
    keeps the decoded (name, value) pairs in order for the signature check."""

    def __init__(self, method, raw_path, raw_query, headers, body):
        self.method = method
        self.raw_path = raw_path
        self.raw_query = raw_query
        self.query_pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        self.query = {}
        for k, v in self.query_pairs:
            self.query.setdefault(k, []).append(v)
        self.headers = headers
        self.body = body


def detect_protocol(svc, req):
    """The protocol a request to svc uses, from its headers and method."""
    if req.headers.get('X-Amz-Target'):
        return 'json'
    ct = (req.headers.get('Content-Type') or '').lower()
    if 'query' in svc.protocols and (ct.startswith('application/x-www-form-urlencoded') or
                                     (req.method == 'GET' and 'Action' in req.query)):
        return 'query'
    if svc.rest:
        return svc.rest
    if 'query' in svc.protocols:
        return 'query'
    return 'json'


def query_params(req):
    """The flat Query parameters of a request: URL query plus form body, the last value of a
    repeated name winning."""
    flat = {k: v[-1] for k, v in req.query.items()}
    if req.body:
        try:
            text = req.body.decode('utf-8')
        except UnicodeDecodeError:
            raise AwsError('MalformedQueryString', 'The request body is not valid UTF-8.', status=404)
        for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
            flat[k] = v
    return flat


# ---- scalars ------------------------------------------------------------------------------

def _scalar_from_text(shape, text, path, header=False):
    """A scalar member sent as text (Query value, URI label, query string, header, XML text)."""
    t = shape.type_name
    try:
        if t == 'string':
            if header and shape.serialization.get('jsonvalue'):
                return json.loads(base64.b64decode(text))
            return text
        if t in ('integer', 'long'):
            return int(text)
        if t in ('float', 'double'):
            return float(text)
        if t == 'boolean':
            if text.lower() == 'true':
                return True
            if text.lower() == 'false':
                return False
            raise ValueError(text)
        if t == 'timestamp':
            return util.parse_timestamp(text)
        if t == 'blob':
            return base64.b64decode(text, validate=True)
    except (ValueError, TypeError, binascii.Error):
        raise TypeProblem(path, "Value '%s' at '%s' is not a valid %s" % (text, _dotted(path), t))
    return text


def _dotted(path):
    return '.'.join(str(p) for p in path) or 'input'


# ---- JSON input -----------------------------------------------------------------------------

def from_json(shape, v, path):
    t = shape.type_name
    if v is None:
        return None
    if t == 'structure':
        if shape.is_document_type:
            return v
        if not isinstance(v, dict):
            raise TypeProblem(path, 'Start of structure or map found where not expected at %s.'
                              % _dotted(path) if isinstance(v, list) else
                              'Unexpected value type at %s: expected a structure.' % _dotted(path))
        out = {}
        for name, m in shape.members.items():
            raw = v.get(m.serialization.get('name', name))
            if raw is not None:
                out[name] = from_json(m, raw, path + [name])
        return out
    if t == 'list':
        if not isinstance(v, list):
            raise TypeProblem(path, 'Unexpected value type at %s: expected a list.' % _dotted(path))
        return [from_json(shape.member, x, path + [i]) for i, x in enumerate(v)]
    if t == 'map':
        if not isinstance(v, dict):
            raise TypeProblem(path, 'Unexpected value type at %s: expected a map.' % _dotted(path))
        return {k: from_json(shape.value, x, path + [k]) for k, x in v.items()}
    if t == 'string':
        if not isinstance(v, str):
            raise TypeProblem(path, 'Unexpected value type at %s: expected a string.' % _dotted(path))
        return v
    if t in ('integer', 'long'):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeProblem(path, 'Unexpected value type at %s: expected an integer.' % _dotted(path))
        return v
    if t in ('float', 'double'):
        if isinstance(v, str) and v in ('NaN', 'Infinity', '-Infinity'):
            return float(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeProblem(path, 'Unexpected value type at %s: expected a number.' % _dotted(path))
        return float(v)
    if t == 'boolean':
        if not isinstance(v, bool):
            raise TypeProblem(path, 'Unexpected value type at %s: expected a boolean.' % _dotted(path))
        return v
    if t == 'timestamp':
        if isinstance(v, bool):
            raise TypeProblem(path, 'Unexpected value type at %s: expected a timestamp.' % _dotted(path))
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, str):
            return _scalar_from_text(shape, v, path)
        raise TypeProblem(path, 'Unexpected value type at %s: expected a timestamp.' % _dotted(path))
    if t == 'blob':
        if not isinstance(v, str):
            raise TypeProblem(path, 'Unexpected value type at %s: expected base64 text.' % _dotted(path))
        return _scalar_from_text(shape, v, path)
    return v


def _json_body(body, path):
    if not body or not body.strip():
        return {}
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TypeProblem(path, 'The request body is not valid JSON.')
    return doc


# ---- Query input ----------------------------------------------------------------------------

def from_query(shape, params, prefix, path):
    """Rebuilds the value of shape from flat Query parameters under prefix (as botocore's
    QuerySerializer writes them). Returns None when nothing was sent for it."""
    t = shape.type_name
    if t == 'structure':
        out = {}
        for name, m in shape.members.items():
            key = m.serialization.get('name', name)
            full = '%s.%s' % (prefix, key) if prefix else key
            v = from_query(m, params, full, path + [name])
            if v is not None:
                out[name] = v
        if not out and prefix and not _has_prefix(params, prefix):
            return None
        return out
    if t == 'list':
        if params.get(prefix) == '':
            return []
        if shape.serialization.get('flattened'):
            base = prefix
            if shape.member.serialization.get('name'):
                base = '.'.join(prefix.split('.')[:-1] + [shape.member.serialization['name']])
        else:
            base = '%s.%s' % (prefix, shape.member.serialization.get('name', 'member'))
        idx = _indexes(params, base)
        if not idx:
            return None
        return [from_query(shape.member, params, '%s.%d' % (base, i), path + [n])
                for n, i in enumerate(idx)]
    if t == 'map':
        base = prefix if shape.serialization.get('flattened') else prefix + '.entry'
        kname = shape.key.serialization.get('name', 'key')
        vname = shape.value.serialization.get('name', 'value')
        idx = _indexes(params, base)
        if not idx:
            return None
        out = {}
        for i in idx:
            k = params.get('%s.%d.%s' % (base, i, kname))
            if k is None:
                continue
            out[k] = from_query(shape.value, params, '%s.%d.%s' % (base, i, vname), path + [k])
        return out
    if prefix not in params:
        return None
    return _scalar_from_text(shape, params[prefix], path)


def _has_prefix(params, prefix):
    p = prefix + '.'
    return any(k.startswith(p) for k in params)


def _indexes(params, base):
    p = base + '.'
    found = set()
    for k in params:
        if k.startswith(p):
            head = k[len(p):].split('.', 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


# ---- XML input ------------------------------------------------------------------------------

def _tag(el):
    t = el.tag
    return t.rsplit('}', 1)[1] if '}' in t else t


def _children_by_tag(el):
    out = {}
    for child in el:
        out.setdefault(_tag(child), []).append(child)
    return out


def _xml_member_name(m, name):
    if m.type_name == 'list' and m.serialization.get('flattened') and m.member.serialization.get('name'):
        return m.member.serialization['name']
    return m.serialization.get('name', name)


def from_xml(shape, node, path):
    """node is an Element, or a list of Elements for a flattened list or map."""
    t = shape.type_name
    if t == 'structure':
        kids = _children_by_tag(node)
        out = {}
        for name, m in shape.members.items():
            if m.serialization.get('location'):
                continue
            if m.serialization.get('xmlAttribute'):
                v = node.attrib.get(m.serialization['name'])
                if v is not None:
                    out[name] = v
                continue
            els = kids.get(_xml_member_name(m, name))
            if not els:
                continue
            flat = m.type_name in ('list', 'map') and m.serialization.get('flattened')
            out[name] = from_xml(m, els if flat else els[0], path + [name])
        return out
    if t == 'list':
        items = node if isinstance(node, list) else list(node)
        return [from_xml(shape.member, el, path + [i]) for i, el in enumerate(items)]
    if t == 'map':
        entries = node if isinstance(node, list) else list(node)
        kname = shape.key.serialization.get('name', 'key')
        vname = shape.value.serialization.get('name', 'value')
        out = {}
        for entry in entries:
            kids = _children_by_tag(entry)
            if kname in kids and vname in kids:
                out[kids[kname][0].text or ''] = from_xml(shape.value, kids[vname][0], path)
        return out
    return _scalar_from_text(shape, node.text or '', path)


def _xml_root(body, path):
    try:
        return ET.fromstring(body)
    except ET.ParseError as e:
        raise TypeProblem(path, 'The XML you provided was not well-formed or did not validate '
                          'against our published schema: %s' % e)


# ---- REST input -----------------------------------------------------------------------------

def from_rest(protocol, op, req, uri_params):
    shape = op.input_shape
    if shape is None:
        return {}
    out = {}
    payload = shape.serialization.get('payload')
    body_members = {}
    used_query = set()
    qs_map = None
    for name, m in shape.members.items():
        loc = m.serialization.get('location')
        lname = m.serialization.get('name', name)
        if loc == 'uri':
            if lname in uri_params:
                out[name] = _scalar_from_text(m, uri_params[lname], [name])
        elif loc == 'querystring':
            if m.type_name == 'map':
                qs_map = (name, m)
                continue
            used_query.add(lname)
            vals = req.query.get(lname)
            if not vals:
                continue
            if m.type_name == 'list':
                out[name] = [_scalar_from_text(m.member, x, [name]) for x in vals]
            else:
                out[name] = _scalar_from_text(m, vals[-1], [name])
        elif loc == 'header':
            v = req.headers.get(lname)
            if v is None:
                continue
            if m.type_name == 'list':
                out[name] = [_scalar_from_text(m.member, x.strip(), [name], True) for x in v.split(',')]
            else:
                out[name] = _scalar_from_text(m, v, [name], True)
        elif loc == 'headers':
            prefix = lname.lower()
            got = {k[len(prefix):]: v for k, v in req.headers.items() if k.lower().startswith(prefix)}
            if got:
                out[name] = got
        elif loc == 'statusCode':
            continue
        elif name != payload:
            body_members[name] = m
    if qs_map:
        name, m = qs_map
        rest = {k: v[-1] for k, v in req.query.items() if k not in used_query}
        if rest:
            out[name] = rest
    body = req.body
    if payload:
        m = shape.members[payload]
        if m.type_name == 'blob':
            if body:
                out[payload] = body
        elif m.type_name == 'string':
            if body:
                out[payload] = body.decode('utf-8', 'replace')
        elif body and body.strip():
            if protocol == 'rest-json':
                out[payload] = from_json(m, _json_body(body, [payload]), [payload])
            else:
                out[payload] = from_xml(m, _xml_root(body, [payload]), [payload])
    elif body_members and body and body.strip():
        if protocol == 'rest-json':
            doc = _json_body(body, [])
            if not isinstance(doc, dict):
                raise TypeProblem([], 'The request body must be a JSON object.')
            for name, m in body_members.items():
                raw = doc.get(m.serialization.get('name', name))
                if raw is not None:
                    out[name] = from_json(m, raw, [name])
        else:
            root = _xml_root(body, [])
            kids = _children_by_tag(root)
            for name, m in body_members.items():
                els = kids.get(_xml_member_name(m, name))
                if els:
                    flat = m.type_name in ('list', 'map') and m.serialization.get('flattened')
                    out[name] = from_xml(m, els if flat else els[0], [name])
    return out


def parse_input(protocol, op, req, uri_params=None, flat=None):
    """The operation's input dict from a request. Raises TypeProblem for values of the wrong
    type or an unreadable body."""
    shape = op.input_shape
    if protocol == 'json':
        if shape is None:
            return {}
        doc = _json_body(req.body, [])
        if not isinstance(doc, dict):
            raise TypeProblem([], 'The request body must be a JSON object.')
        return from_json(shape, doc, [])
    if protocol == 'query':
        if shape is None:
            return {}
        return from_query(shape, flat, '', []) or {}
    return from_rest(protocol, op, req, uri_params or {})


# ---- output -------------------------------------------------------------------------------

class OutputError(Exception):
    """A service handler returned something its output shape does not allow (strict mode)."""


def _strict(msg):
    if STRICT:
        raise OutputError(msg)


def _ts(value, fmt):
    if fmt == 'iso8601':
        return util.iso8601(value)
    if fmt == 'rfc822':
        return util.rfc822(value)
    return util.epoch_json(value)


def _check_scalar(shape, v, where):
    t = shape.type_name
    ok = True
    if t == 'string':
        ok = isinstance(v, str)
    elif t in ('integer', 'long'):
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif t in ('float', 'double'):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    elif t == 'boolean':
        ok = isinstance(v, bool)
    elif t == 'timestamp':
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    elif t == 'blob':
        ok = isinstance(v, (bytes, str))
    if not ok:
        _strict('%s: %r is not a %s' % (where, v, t))


def to_json(shape, v, where='output'):
    t = shape.type_name
    if t == 'structure':
        if shape.is_document_type:
            return v
        if not isinstance(v, dict):
            _strict('%s: expected a dict for %s' % (where, shape.name))
            return {}
        members = shape.members
        out = {}
        for k, x in v.items():
            if x is None or k[:1] == '_':
                continue
            m = members.get(k)
            if m is None:
                _strict('%s: %s has no member %s' % (where, shape.name, k))
                continue
            out[m.serialization.get('name', k)] = to_json(m, x, where + '.' + k)
        return out
    if t == 'list':
        return [to_json(shape.member, x, where + '[]') for x in v]
    if t == 'map':
        return {k: to_json(shape.value, x, where + '{}') for k, x in v.items()}
    if STRICT:
        _check_scalar(shape, v, where)
    if t == 'timestamp':
        return _ts(v, shape.serialization.get('timestampFormat', 'unixtimestamp').lower())
    if t == 'blob':
        return base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode()
    if t in ('float', 'double'):
        return float(v)
    return v


def _xml_text(shape, v, where):
    t = shape.type_name
    if t == 'string' and v.__class__ is str:
        return _xml_escape(v, _XML_ENTITIES) if ('&' in v or '<' in v or '>' in v or '\r' in v) else v
    if STRICT:
        _check_scalar(shape, v, where)
    if t == 'boolean':
        return 'true' if v else 'false'
    if t == 'timestamp':
        return _ts(v, shape.serialization.get('timestampFormat', 'iso8601').lower())
    if t == 'blob':
        return base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode()
    if t in ('float', 'double'):
        f = float(v)
        return repr(f) if f != int(f) or abs(f) >= 1e16 else str(f)
    return _xml_escape(str(v), _XML_ENTITIES)


_XML_ENTITIES = {'\r': '&#xD;'}


def to_xml(shape, v, name, out, where='output', xmlns=None):
    """Appends the XML for value v of shape, as element name, to the list out."""
    t = shape.type_name
    attr = ' xmlns="%s"' % xmlns if xmlns else ''
    if t == 'structure':
        out.append('<%s%s>' % (name, attr))
        _xml_members(shape, v, out, where)
        out.append('</%s>' % name)
    elif t == 'list':
        if shape.serialization.get('flattened'):
            for x in v:
                to_xml(shape.member, x, name, out, where + '[]')
        else:
            item = shape.member.serialization.get('name', 'member')
            out.append('<%s%s>' % (name, attr))
            for x in v:
                to_xml(shape.member, x, item, out, where + '[]')
            out.append('</%s>' % name)
    elif t == 'map':
        kname = shape.key.serialization.get('name', 'key')
        vname = shape.value.serialization.get('name', 'value')
        flat = shape.serialization.get('flattened')
        if not flat:
            out.append('<%s%s>' % (name, attr))
        for k, x in v.items():
            out.append('<%s>' % (name if flat else 'entry'))
            to_xml(shape.key, k, kname, out, where)
            to_xml(shape.value, x, vname, out, where + '{}')
            out.append('</%s>' % (name if flat else 'entry'))
        if not flat:
            out.append('</%s>' % name)
    else:
        out.append('<%s%s>%s</%s>' % (name, attr, _xml_text(shape, v, where), name))


def _xml_members(shape, v, out, where):
    if not isinstance(v, dict):
        _strict('%s: expected a dict for %s' % (where, shape.name))
        return
    members = shape.members
    for k, x in v.items():
        if x is None or k[:1] == '_':
            continue
        m = members.get(k)
        if m is None:
            _strict('%s: %s has no member %s' % (where, shape.name, k))
            continue
        if m.serialization.get('location'):
            continue
        to_xml(m, x, _xml_member_name(m, k) if m.type_name == 'list' else
               m.serialization.get('name', k), out, where + '.' + k)


class HttpResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


def serialize(svc, protocol, op, output, request_id):
    """The HTTP response for a successful call. output is the handler's dict (or None)."""
    shape = op.output_shape
    output = output or {}
    headers = [('x-amzn-RequestId', request_id)]
    if protocol == 'json':
        body = json.dumps(to_json(shape, output) if shape is not None else {},
                          separators=(',', ':')).encode()
        headers.append(('Content-Type', 'application/x-amz-json-%s' % svc.json_version))
        return HttpResponse(200, headers, body)
    if protocol == 'query':
        parts = ['<%sResponse xmlns="%s">' % (op.name, svc.xml_namespace)]
        if shape is not None:
            wrapper = shape.serialization.get('resultWrapper')
            if wrapper:
                parts.append('<%s>' % wrapper)
            _xml_members(shape, output, parts, op.name)
            if wrapper:
                parts.append('</%s>' % wrapper)
        parts.append('<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>' % request_id)
        parts.append('</%sResponse>' % op.name)
        headers.append(('Content-Type', 'text/xml'))
        return HttpResponse(200, headers, ''.join(parts).encode())
    return _serialize_rest(svc, protocol, op, shape, output, headers)


def _serialize_rest(svc, protocol, op, shape, output, headers):
    status = op.http.get('responseCode', 200)
    body = b''
    if shape is None:
        return HttpResponse(status, headers, body)
    payload = shape.serialization.get('payload')
    body_values = {}
    has_body_members = False
    for k, m in shape.members.items():
        loc = m.serialization.get('location')
        v = output.get(k)
        if loc == 'header':
            if v is not None:
                if m.type_name == 'timestamp':
                    hv = _ts(v, m.serialization.get('timestampFormat', 'rfc822').lower())
                elif m.type_name == 'boolean':
                    hv = 'true' if v else 'false'
                elif m.type_name == 'list':
                    hv = ','.join(str(x) for x in v)
                elif m.serialization.get('jsonvalue'):
                    hv = base64.b64encode(json.dumps(v).encode()).decode()
                else:
                    hv = str(v)
                headers.append((m.serialization.get('name', k), str(hv)))
        elif loc == 'headers':
            for hk, hv in (v or {}).items():
                headers.append((m.serialization.get('name', '') + hk, str(hv)))
        elif loc == 'statusCode':
            if v is not None:
                status = int(v)
        elif k == payload:
            continue
        else:
            has_body_members = True
            if v is not None:
                body_values[k] = v
    for k in output:
        if k[:1] != '_' and k not in shape.members:
            _strict('%s: %s has no member %s' % (op.name, shape.name, k))
    if payload:
        m = shape.members[payload]
        v = output.get(payload)
        if m.type_name in ('blob', 'string'):
            if v is not None:
                body = v if isinstance(v, bytes) else v.encode()
        elif v is not None:
            if protocol == 'rest-json':
                body = json.dumps(to_json(m, v, op.name), separators=(',', ':')).encode()
                headers.append(('Content-Type', 'application/json'))
            else:
                name = m.serialization.get('name', payload)
                ns = _namespace(svc, m)
                parts = ['<?xml version="1.0" encoding="UTF-8"?>\n']
                to_xml(m, v, name, parts, op.name, xmlns=ns)
                body = ''.join(parts).encode()
                headers.append(('Content-Type', 'text/xml'))
    elif has_body_members:
        if protocol == 'rest-json':
            body = json.dumps(to_json(shape, body_values, op.name), separators=(',', ':')).encode()
            headers.append(('Content-Type', 'application/json'))
        else:
            name = shape.serialization.get('name', op.name + 'Result')
            parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', '<%s xmlns="%s">' % (name, svc.xml_namespace)]
            _xml_members(shape, body_values, parts, op.name)
            parts.append('</%s>' % name)
            body = ''.join(parts).encode()
            headers.append(('Content-Type', 'text/xml'))
    return HttpResponse(status, headers, body)


def _namespace(svc, shape):
    ns = shape.serialization.get('xmlNamespace')
    if isinstance(ns, dict):
        return ns.get('uri')
    return ns or svc.xml_namespace


def serialize_error(svc, protocol, err, request_id):
    """The HTTP response for an AwsError, in the protocol's error format."""
    shape_name, model_status, sender = (None, 400, True)
    if svc is not None:
        shape_name, model_status, sender = svc.error_info(err.code)
    status = err.status or model_status
    sender = err.sender if err.status else sender
    headers = [('x-amzn-RequestId', request_id)] + list(err.headers.items())
    fault = 'Sender' if sender else 'Receiver'
    if protocol in ('json', 'rest-json'):
        msg_key = 'message'
        if shape_name and svc is not None:
            members = svc.raw['shapes'][shape_name].get('members', {})
            if 'Message' in members and 'message' not in members:
                msg_key = 'Message'
        doc = {}
        if protocol == 'json':
            doc['__type'] = shape_name if (shape_name and svc.query_compatible) else err.code
            if svc is not None and svc.query_compatible:
                headers.append(('x-amzn-query-error', '%s;%s' % (err.code, fault)))
            ctype = 'application/x-amz-json-%s' % (svc.json_version if svc else '1.1')
        else:
            headers.append(('x-amzn-ErrorType', err.code))
            doc['Type'] = 'User' if sender else 'Service'
            ctype = 'application/json'
        doc[msg_key] = err.message
        for k, v in err.fields.items():
            doc[k] = v
        headers.append(('Content-Type', ctype))
        return HttpResponse(status, headers, json.dumps(doc).encode())
    ns = svc.xml_namespace if svc is not None else 'https://amazonaws.com/doc/'
    extra = ''.join('<%s>%s</%s>' % (k, _xml_escape(str(v)), k) for k, v in err.fields.items()
                    if k != 'Type')
    body = ('<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message>'
            '%s</Error><RequestId>%s</RequestId></ErrorResponse>'
            % (ns, fault, _xml_escape(err.code), _xml_escape(err.message), extra, request_id))
    headers.append(('Content-Type', 'text/xml'))
    return HttpResponse(status, headers, body.encode())

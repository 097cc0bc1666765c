"""SigV4 verification with botocore's own signer.

The server rebuilds the canonical request from what arrived on the wire (the headers the client
listed in SignedHeaders, the raw path, the decoded query parameters, the body) and lets
botocore's SigV4Auth compute the signature the client should have sent. Everything AWS checks
before that is checked here too, with AWS's error codes: a missing or malformed Authorization
header, an unknown access key, a session token that is missing, wrong or expired, a request date
more than five minutes from the server's clock, a body that does not match
X-Amz-Content-SHA256.
"""

import calendar
import hashlib
import hmac
import re
import time

from botocore.auth import SigV4Auth
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from .errors import auth_error

SKEW_SECONDS = 300
_AUTH_RE = re.compile(r'^AWS4-HMAC-SHA256\s+(.*)$', re.S)
_UNSIGNED = ('UNSIGNED-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER')


class Scope:
    """The parsed Authorization header."""

    def __init__(self, access_key, date, region, service, signed_headers, signature):
        self.access_key = access_key
        self.date = date
        self.region = region
        self.service = service
        self.signed_headers = signed_headers
        self.signature = signature


def parse_authorization(value):
    """Parses an Authorization header. Returns a Scope, None when value is not SigV4 at all, or
    the string 'incomplete: <why>' when it is SigV4 but malformed."""
    m = _AUTH_RE.match(value.strip())
    if not m:
        return None
    parts = {}
    for item in m.group(1).split(','):
        k, eq, v = item.strip().partition('=')
        if eq:
            parts[k.strip()] = v.strip()
    for need in ('Credential', 'SignedHeaders', 'Signature'):
        if need not in parts:
            return ("incomplete: Authorization header requires '%s' parameter. Authorization=%s"
                    % (need, value))
    cred = parts['Credential'].split('/')
    if len(cred) != 5 or cred[4] != 'aws4_request':
        return 'incomplete: Credential should be scoped to a valid region. ' + parts['Credential']
    return Scope(cred[0], cred[1], cred[2], cred[3],
                 [h.strip().lower() for h in parts['SignedHeaders'].split(';') if h.strip()],
                 parts['Signature'])


class _Request:
    """The minimum of botocore's AWSRequest that SigV4Auth.canonical_request reads."""

    def __init__(self, method, url, headers, params, body):
        self.method = method
        self.url = url
        self.headers = headers
        self.params = params
        self.body = body
        self.context = {}


class _Verifier(SigV4Auth):
    """SigV4Auth that signs exactly the headers the client listed and hashes the body it got."""

    def __init__(self, credentials, service, region, signed_headers):
        super().__init__(credentials, service, region)
        self._signed = signed_headers

    def headers_to_sign(self, request):
        hm = HTTPHeaders()
        for name in self._signed:
            for v in request.headers.get_all(name) or []:
                hm[name] = v
        return hm

    def payload(self, request):
        return hashlib.sha256(request.body).hexdigest()


def _amz_date(headers):
    value = headers.get('X-Amz-Date')
    if value:
        # YYYYMMDDTHHMMSSZ, parsed by hand: time.strptime costs more than the rest of the check.
        if len(value) != 16 or value[8] != 'T' or value[15] != 'Z' or \
                not (value[:8] + value[9:15]).isdigit():
            return value, None
        try:
            return value, calendar.timegm((int(value[:4]), int(value[4:6]), int(value[6:8]),
                                           int(value[9:11]), int(value[11:13]), int(value[13:15])))
        except (ValueError, OverflowError):
            return value, None
    value = headers.get('Date')
    if value:
        import email.utils
        try:
            t = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return value, None
        return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(t)), t
    return None, None


def verify(protocol, scope, method, raw_path, query_pairs, headers, body, lookup, now=None):
    """Checks one request. scope is a parsed Scope; raw_path the path as sent (still
    percent-encoded); query_pairs the decoded query parameters as (name, value) pairs; headers an
    http.client.HTTPMessage; lookup(access_key) returns a credentials record (dict with secret,
    token, expires) or None. Returns the credentials record; raises AwsError otherwise."""
    now = time.time() if now is None else now
    record = lookup(scope.access_key)
    if record is None:
        raise auth_error(protocol, 'unknown_key')
    token = headers.get('X-Amz-Security-Token')
    if record.get('token'):
        if token != record['token']:
            raise auth_error(protocol, 'invalid_token')
        if record.get('expires') is not None and now >= record['expires']:
            raise auth_error(protocol, 'expired_token')
    elif token:
        raise auth_error(protocol, 'invalid_token')
    amz, t = _amz_date(headers)
    if amz is None:
        raise auth_error(protocol, 'incomplete',
                         "Authorization header requires existence of either a 'X-Amz-Date' or a "
                         "'Date' header. Authorization=%s" % headers.get('Authorization'))
    if t is None:
        raise auth_error(protocol, 'incomplete', "Date must be in ISO-8601 'basic format'. "
                         "Got '%s'." % amz)
    fmt = '%Y%m%dT%H%M%SZ'
    if t < now - SKEW_SECONDS:
        raise auth_error(protocol, 'expired', 'Signature expired: %s is now earlier than %s (%s - 5 min.)'
                         % (amz, time.strftime(fmt, time.gmtime(now - SKEW_SECONDS)),
                            time.strftime(fmt, time.gmtime(now))))
    if t > now + SKEW_SECONDS:
        raise auth_error(protocol, 'expired', 'Signature not yet current: %s is still later than %s (%s + 5 min.)'
                         % (amz, time.strftime(fmt, time.gmtime(now + SKEW_SECONDS)),
                            time.strftime(fmt, time.gmtime(now))))
    if scope.date != amz[:8]:
        raise auth_error(protocol, 'bad_signature', "Credential should be scoped to a valid date: "
                         "'%s' != '%s'." % (scope.date, amz[:8]))
    declared = headers.get('X-Amz-Content-SHA256')
    if declared and declared not in _UNSIGNED and declared != hashlib.sha256(body).hexdigest():
        raise auth_error(protocol, 'bad_signature',
                         "The provided 'x-amz-content-sha256' header does not match what was computed.")
    if 'host' not in scope.signed_headers:
        raise auth_error(protocol, 'bad_signature')
    creds = Credentials(scope.access_key, record['secret'], token)
    signer = _Verifier(creds, scope.service, scope.region, scope.signed_headers)
    host = headers.get('Host', 'localhost')
    req = _Request(method, 'http://%s%s' % (host, raw_path), headers, query_pairs, body)
    req.context['timestamp'] = amz
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(expected, scope.signature):
        raise auth_error(protocol, 'bad_signature')
    return record

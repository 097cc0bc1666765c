"""AWS STS: GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity.

Temporary credentials issued here are registered with the state, so requests signed with them
(and their session token) are accepted until they expire; the caller then identifies as the
assumed role, in the role's account. There is no IAM: any well-formed role ARN can be assumed,
with AWS's default maximum session of one hour.
"""

import base64
import json
import re
import string
import time

from ..errors import AwsError
from ..util import rand_id
from . import ops

SERVICE = 'sts'
OPS, operation = ops()

ROLE_ARN = re.compile(r'^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$')
MAX_SESSION = 3600


def new_store():
    return {}


@operation('GetCallerIdentity')
def get_caller_identity(ctx, p):
    ident = ctx.identity
    return {'UserId': ident['user_id'], 'Account': ident['account'], 'Arn': ident['arn']}


def _issue(ctx, p, extra):
    m = ROLE_ARN.match(p['RoleArn'])
    if not m:
        raise AwsError('ValidationError', 'Request ARN is invalid')
    account, role_name = m.group(1), m.group(2)
    duration = p.get('DurationSeconds', 3600)
    if duration > MAX_SESSION:
        raise AwsError('ValidationError', 'The requested DurationSeconds exceeds the '
                       'MaxSessionDuration set for this role.')
    upper = string.ascii_uppercase + string.digits
    akid = 'ASIA' + rand_id(16, upper)
    secret = rand_id(40, string.ascii_letters + string.digits + '/+')
    token = base64.b64encode(('awssim-session/%s/%s/%s' % (akid, role_name, rand_id(48))).encode()).decode()
    expires = time.time() + duration
    role_id = 'AROA' + rand_id(17, upper)
    session = p['RoleSessionName']
    user_id = '%s:%s' % (role_id, session)
    arn = 'arn:aws:sts::%s:assumed-role/%s/%s' % (account, role_name, session)
    ctx.state.credentials[akid] = {'secret': secret, 'token': token, 'expires': expires,
                                   'account': account, 'arn': arn, 'user_id': user_id}
    out = {'Credentials': {'AccessKeyId': akid, 'SecretAccessKey': secret, 'SessionToken': token,
                           'Expiration': float(int(expires))},
           'AssumedRoleUser': {'AssumedRoleId': user_id, 'Arn': arn}}
    if p.get('Policy') or p.get('PolicyArns'):
        out['PackedPolicySize'] = min(100, 6 + len(p.get('Policy', '')) // 20)
    if p.get('SourceIdentity'):
        out['SourceIdentity'] = p['SourceIdentity']
    out.update(extra)
    return out


@operation('AssumeRole')
def assume_role(ctx, p):
    return _issue(ctx, p, {})


def _b64url_json(part):
    pad = '=' * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(part + pad))


@operation('AssumeRoleWithWebIdentity')
def assume_role_with_web_identity(ctx, p):
    parts = p['WebIdentityToken'].split('.')
    try:
        if len(parts) != 3:
            raise ValueError('not three parts')
        _b64url_json(parts[0])
        claims = _b64url_json(parts[1])
        if not isinstance(claims, dict):
            raise ValueError('claims are not an object')
    except (ValueError, TypeError):
        raise AwsError('InvalidIdentityToken', 'The ID Token provided is not a valid JWT. (You may '
                       'see this error if you sent an Access Token)')
    now = time.time()
    exp = claims.get('exp')
    if isinstance(exp, (int, float)) and exp <= now:
        raise AwsError('ExpiredTokenException', 'Token expired: current date/time %d must be '
                       'before the expiration date/time %d' % (now, exp))
    for claim in ('iss', 'sub', 'aud'):
        if not claims.get(claim):
            raise AwsError('InvalidIdentityToken', 'The ID Token is missing the %s claim.' % claim)
    aud = claims['aud'][0] if isinstance(claims['aud'], list) else claims['aud']
    provider = re.sub(r'^https://', '', claims['iss'])
    return _issue(ctx, p, {'SubjectFromWebIdentityToken': str(claims['sub']),
                           'Provider': provider, 'Audience': str(aud)})


# ---- IAM (sim/iam.py) -------------------------------------------------------------------------

IAM_RESOURCES = {'AssumeRole': lambda ctx, p: [p['RoleArn']]}

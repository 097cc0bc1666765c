"""AWS Secrets Manager: secrets, versions and staging labels, rotation, replication, tags.

Rotation is simulated: RotateSecret (immediately, the default) creates a version labelled
AWSPENDING and "invokes" the rotation Lambda, which finishes after the "rotation" delay. The
Lambda's outcome is set with the control API: "succeed" moves AWSCURRENT to the new version
(AWSPREVIOUS to the old one) and sets LastRotatedDate; "leave-pending" leaves the AWSPENDING
version behind, as a broken rotation function does, so a second RotateSecret is refused until
the pending label is cleared (UpdateSecretVersionStage) or the outcome changes.
"""

import calendar
import re
import sys
import time

from ..errors import AwsError
from ..util import check_limit, new_uuid, paginate, rand_id
from . import clone, ops

SERVICE = 'secretsmanager'
OPS, operation = ops()

DAY = 86400
_RATE = re.compile(r'^rate\((\d+) (hour|hours|day|days)\)$')


def new_store():
    return {'secrets': {}}


def _me():
    return sys.modules[__name__]


def _not_found():
    return AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.")


def _invalid(msg):
    return AwsError('InvalidParameterException', msg)


def _bad_request(msg):
    return AwsError('InvalidRequestException', msg)


def _secret(ctx, ref, allow_deleted=False):
    store = ctx.store['secrets']
    s = store.get(ref)
    if s is None:
        for cand in store.values():
            # A full ARN, or a partial ARN without the random suffix.
            if ref == cand['ARN'] or (ref.startswith('arn:') and cand['ARN'].startswith(ref + '-')
                                      and len(cand['ARN']) == len(ref) + 7):
                s = cand
                break
    if s is None:
        raise _not_found()
    if s.get('DeletedDate') is not None and not allow_deleted:
        raise _bad_request("You can't perform this operation on the secret because it was marked "
                           "for deletion.")
    return s


def _stages(s):
    return {vid: list(v['stages']) for vid, v in s['_versions'].items() if v['stages']}


def _label_version(s, label):
    for vid, v in s['_versions'].items():
        if label in v['stages']:
            return vid
    return None


def _move_label(s, label, to_vid):
    for v in s['_versions'].values():
        if label in v['stages']:
            v['stages'].remove(label)
    if to_vid is not None:
        s['_versions'][to_vid]['stages'].append(label)


def _add_version(s, vid, value, stages):
    s['_versions'][vid] = {'stages': [], 'created': time.time(), 'value': value}
    for label in stages:
        if label == 'AWSCURRENT':
            old = _label_version(s, 'AWSCURRENT')
            if old is not None and old != vid:
                _move_label(s, 'AWSPREVIOUS', old)
        _move_label(s, label, vid)


def create_secret(ctx, store, p):
    name = p['Name']
    now = time.time()
    s = {'ARN': 'arn:aws:secretsmanager:%s:%s:secret:%s-%s' % (ctx.region, ctx.account, name,
                                                               rand_id(6, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')),
         'Name': name, 'LastChangedDate': now, 'CreatedDate': now, '_versions': {},
         '_tags': [dict(t) for t in p.get('Tags') or []], '_replicas': [], '_seq': ctx.seq()}
    for k in ('Description', 'KmsKeyId'):
        if p.get(k) is not None:
            s[k] = p[k]
    vid = None
    if p.get('SecretString') is not None or p.get('SecretBinary') is not None:
        vid = p.get('ClientRequestToken') or new_uuid()
        _add_version(s, vid, p.get('SecretString', p.get('SecretBinary')), ['AWSCURRENT'])
    for r in p.get('AddReplicaRegions') or []:
        _add_replica(ctx, s, r)
    store['secrets'][name] = s
    return s, vid


def _add_replica(ctx, s, r):
    if r['Region'] == ctx.region:
        raise _invalid('Invalid replica region: %s is the primary region of the secret.' % r['Region'])
    if any(x['Region'] == r['Region'] for x in s['_replicas']):
        raise _invalid('The secret is already replicated to %s.' % r['Region'])
    s['_replicas'].append({'Region': r['Region'],
                           'KmsKeyId': r.get('KmsKeyId', 'alias/aws/secretsmanager'),
                           'Status': 'InSync', 'StatusMessage': 'Replication succeeded'})


@operation('CreateSecret')
def op_create_secret(ctx, p):
    if p.get('SecretString') is not None and p.get('SecretBinary') is not None:
        raise _invalid("You can't specify both a binary secret value and a string secret value in "
                       "the same secret.")
    existing = ctx.store['secrets'].get(p['Name'])
    if existing is not None:
        if existing.get('DeletedDate') is not None:
            raise _bad_request("You can't create this secret because a secret with this name is "
                               "already scheduled for deletion.")
        raise AwsError('ResourceExistsException', 'The operation failed because the secret %s '
                       'already exists.' % p['Name'])
    s, vid = create_secret(ctx, ctx.store, p)
    out = {'ARN': s['ARN'], 'Name': s['Name'], 'VersionId': vid}
    if s['_replicas']:
        out['ReplicationStatus'] = clone(s['_replicas'])
    return out


def _next_rotation(s):
    rules = s.get('RotationRules') or {}
    base = s.get('LastRotatedDate') or s['CreatedDate']
    if rules.get('AutomaticallyAfterDays'):
        t = base + rules['AutomaticallyAfterDays'] * DAY
    elif rules.get('ScheduleExpression'):
        expr = rules['ScheduleExpression']
        m = _RATE.match(expr)
        if m:
            n = int(m.group(1))
            t = base + n * (DAY if m.group(2).startswith('day') else 3600)
        else:
            t = next_cron(expr[5:-1], time.time())
            if t is None:
                return None
    else:
        return None
    # AWS reports the end of the day the rotation is due, never a time in the past.
    t = max(t, time.time())
    day = time.gmtime(t)
    return float(calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, 23, 59, 59)))


def _describe(ctx, s):
    out = {k: clone(v) for k, v in s.items() if not k.startswith('_')}
    out['VersionIdsToStages'] = _stages(s)
    if s['_tags']:
        out['Tags'] = clone(s['_tags'])
    out['PrimaryRegion'] = ctx.region
    if s['_replicas']:
        out['ReplicationStatus'] = clone(s['_replicas'])
    if s.get('RotationEnabled'):
        nxt = _next_rotation(s)
        if nxt is not None:
            out['NextRotationDate'] = nxt
    return out


@operation('DescribeSecret')
def describe_secret(ctx, p):
    return _describe(ctx, _secret(ctx, p['SecretId'], allow_deleted=True))


# ---- rotation ---------------------------------------------------------------------------------

def _cron_values(field, lo, hi, names=None):
    """The set of values a cron field allows, or None for "any" (*, ?, L, W, #)."""
    if field in ('*', '?') or any(c in field for c in 'LW#'):
        return None
    out = set()
    for part in field.split(','):
        base, _, step = part.partition('/')
        if base == '*':
            a, b = lo, hi
        elif '-' in base:
            a, b = [_cron_num(x, names) for x in base.split('-', 1)]
        else:
            a = b = _cron_num(base, names)
            if step:
                b = hi
        out.update(range(a, b + 1, int(step) if step else 1))
    return out


def _cron_num(text, names):
    if names and text.upper() in names:
        return names.index(text.upper()) + (1 if names[0] in ('JAN', 'SUN') else 0)
    return int(text)


def next_cron(expr, after):
    """The first time after `after` matching an AWS six-field cron, or None."""
    fields = expr.split()
    if len(fields) != 6:
        return None
    try:
        minutes = _cron_values(fields[0], 0, 59)
        hours = _cron_values(fields[1], 0, 23)
        doms = _cron_values(fields[2], 1, 31)
        months = _cron_values(fields[3], 1, 12, 'JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC'.split())
        dows = _cron_values(fields[4], 1, 7, 'SUN MON TUE WED THU FRI SAT'.split())
        years = _cron_values(fields[5], 1970, 2199)
    except ValueError:
        return None
    t = int(after // 60 + 1) * 60
    for _ in range(366 * 24 * 2):
        g = time.gmtime(t)
        aws_dow = (g.tm_wday + 1) % 7 + 1   # SUN=1 ... SAT=7
        if (years is None or g.tm_year in years) and (months is None or g.tm_mon in months) and \
                (doms is None or g.tm_mday in doms) and (dows is None or aws_dow in dows) and \
                (hours is None or g.tm_hour in hours):
            for mi in range(g.tm_min, 60):
                if minutes is None or mi in minutes:
                    return float(t + (mi - g.tm_min) * 60)
        t = (t // 3600 + 1) * 3600
    return None


def _check_rules(rules):
    days, expr = rules.get('AutomaticallyAfterDays'), rules.get('ScheduleExpression')
    if days is not None and expr is not None:
        raise _invalid('You cannot specify both rotation frequency and schedule expression together.')
    if days is None and expr is None:
        raise _invalid('You must specify either AutomaticallyAfterDays or ScheduleExpression.')
    if expr is not None:
        m = _RATE.match(expr)
        if m:
            n, unit = int(m.group(1)), m.group(2)
            if (n == 1) == unit.endswith('s') or n < 1 or (unit.startswith('day') and n > 1000) or \
                    (unit.startswith('hour') and not 4 <= n <= 23):
                raise _invalid('Invalid rate expression: %s' % expr)
        elif expr.startswith('cron(') and expr.endswith(')'):
            from .appautoscaling import check_schedule
            try:
                check_schedule(expr)
            except AwsError:
                raise _invalid('Invalid cron expression: %s' % expr)
        else:
            raise _invalid('Invalid schedule expression: %s' % expr)
    duration = rules.get('Duration')
    if duration is not None:
        hours = int(duration[:-1])
        if not 1 <= hours <= 24:
            raise _invalid('The rotation window duration must be between 1h and 24h.')
        m = _RATE.match(expr or '')
        if m and m.group(2).startswith('hour') and hours > int(m.group(1)):
            raise _invalid('The rotation window can\'t extend into the next rotation window.')


def _outcome(ctx, s):
    table = ctx.state.rotation_outcome
    return table.get(s['Name'], table.get(s['ARN'], table.get('*', 'succeed')))


def _rotate_now(ctx, s, token):
    current = _label_version(s, 'AWSCURRENT')
    vid = token or new_uuid()
    if vid in s['_versions']:
        raise _bad_request('A version with this ClientRequestToken already exists.')
    value = s['_versions'][current]['value'] if current else None
    _add_version(s, vid, value, ['AWSPENDING'])
    outcome = _outcome(ctx, s)

    def finish():
        version = s['_versions'].get(vid)
        if version is None or 'AWSPENDING' not in version['stages']:
            return
        if outcome == 'succeed':
            old = _label_version(s, 'AWSCURRENT')
            if old is not None:
                _move_label(s, 'AWSPREVIOUS', old)
            _move_label(s, 'AWSCURRENT', vid)
            version['stages'].remove('AWSPENDING')
            now = time.time()
            s['LastRotatedDate'] = now
            s['LastChangedDate'] = now
        # "leave-pending": the function failed after createSecret; AWSPENDING stays behind.
    ctx.later('rotation', finish)
    return vid


@operation('RotateSecret')
def rotate_secret(ctx, p):
    s = _secret(ctx, p['SecretId'])
    pending = _label_version(s, 'AWSPENDING')
    if pending is not None and 'AWSCURRENT' not in s['_versions'][pending]['stages']:
        raise _bad_request("A previous rotation isn't complete. That rotation will be reattempted.")
    lam = p.get('RotationLambdaARN') or s.get('RotationLambdaARN')
    if not lam:
        raise _bad_request('No Lambda rotation function ARN is associated with this secret.')
    if not re.match(r'^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$',
                    lam):
        raise _invalid('Invalid Lambda rotation function ARN: %s' % lam)
    if p.get('RotationRules') is not None:
        _check_rules(p['RotationRules'])
        s['RotationRules'] = clone(p['RotationRules'])
    elif not s.get('RotationRules'):
        raise _invalid('You must specify RotationRules the first time you turn on rotation.')
    s['RotationLambdaARN'] = lam
    s['RotationEnabled'] = True
    s['LastChangedDate'] = time.time()
    out = {'ARN': s['ARN'], 'Name': s['Name']}
    if p.get('RotateImmediately', True):
        if _label_version(s, 'AWSCURRENT') is None:
            raise _bad_request('The secret has no AWSCURRENT version to rotate.')
        out['VersionId'] = _rotate_now(ctx, s, p.get('ClientRequestToken'))
    return out


@operation('CancelRotateSecret')
def cancel_rotate_secret(ctx, p):
    s = _secret(ctx, p['SecretId'])
    if not s.get('RotationEnabled'):
        raise _bad_request('Secret %s does not have rotation enabled.' % s['Name'])
    s['RotationEnabled'] = False
    s['LastChangedDate'] = time.time()
    out = {'ARN': s['ARN'], 'Name': s['Name']}
    pending = _label_version(s, 'AWSPENDING')
    if pending is not None:
        out['VersionId'] = pending
    return out


# ---- versions -------------------------------------------------------------------------------

@operation('ListSecretVersionIds')
def list_secret_version_ids(ctx, p):
    s = _secret(ctx, p['SecretId'])
    limit = check_limit(p.get('MaxResults'), 1, 100, 100, _invalid('MaxResults must be between 1 and 100'))
    items = [(vid, v) for vid, v in s['_versions'].items()
             if v['stages'] or p.get('IncludeDeprecated')]
    page, nxt = paginate(items, lambda x: [x[1]['created'], x[0]], p.get('NextToken'), limit,
                         'ListSecretVersionIds', AwsError('InvalidNextTokenException',
                                                          'The NextToken value is invalid.'))
    versions = []
    for vid, v in page:
        e = {'VersionId': vid, 'CreatedDate': v['created'], 'KmsKeyIds': ['DEFAULT']}
        if v['stages']:
            e['VersionStages'] = list(v['stages'])
        versions.append(e)
    return {'Versions': versions, 'NextToken': nxt, 'ARN': s['ARN'], 'Name': s['Name']}


@operation('GetSecretValue')
def get_secret_value(ctx, p):
    s = _secret(ctx, p['SecretId'])
    vid = p.get('VersionId')
    stage = p.get('VersionStage')
    if vid is None:
        vid = _label_version(s, stage or 'AWSCURRENT')
    v = s['_versions'].get(vid) if vid else None
    if v is None or (stage and stage not in v['stages']):
        raise AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret "
                       "value for %s: %s" % ('VersionId' if p.get('VersionId') else 'staging label',
                                             p.get('VersionId') or stage or 'AWSCURRENT'))
    out = {'ARN': s['ARN'], 'Name': s['Name'], 'VersionId': vid, 'VersionStages': list(v['stages']),
           'CreatedDate': v['created']}
    if isinstance(v['value'], bytes):
        out['SecretBinary'] = v['value']
    elif v['value'] is not None:
        out['SecretString'] = v['value']
    s['LastAccessedDate'] = float(calendar.timegm(time.gmtime(time.time())[:3] + (0, 0, 0)))
    return out


@operation('PutSecretValue')
def put_secret_value(ctx, p):
    s = _secret(ctx, p['SecretId'])
    if p.get('SecretString') is not None and p.get('SecretBinary') is not None:
        raise _invalid("You can't specify both a binary secret value and a string secret value.")
    vid = p.get('ClientRequestToken') or new_uuid()
    if vid in s['_versions']:
        raise AwsError('ResourceExistsException', 'A resource with the ID you requested already exists.')
    _add_version(s, vid, p.get('SecretString', p.get('SecretBinary')),
                 p.get('VersionStages') or ['AWSCURRENT'])
    s['LastChangedDate'] = time.time()
    return {'ARN': s['ARN'], 'Name': s['Name'], 'VersionId': vid,
            'VersionStages': list(s['_versions'][vid]['stages'])}


@operation('UpdateSecretVersionStage')
def update_secret_version_stage(ctx, p):
    s = _secret(ctx, p['SecretId'])
    label = p['VersionStage']
    holder = _label_version(s, label)
    frm, to = p.get('RemoveFromVersionId'), p.get('MoveToVersionId')
    if to is not None and to not in s['_versions']:
        raise _invalid('The version %s does not exist.' % to)
    if holder is not None and holder != to and frm != holder:
        raise _invalid('The staging label %s is currently attached to version %s, so you must '
                       'explicitly reference that version in RemoveFromVersionId.' % (label, holder))
    if label == 'AWSCURRENT' and to is None:
        raise _invalid('You can only move AWSCURRENT to another version, not remove it.')
    if label == 'AWSCURRENT' and holder is not None and holder != to:
        _move_label(s, 'AWSPREVIOUS', holder)
    _move_label(s, label, to)
    s['LastChangedDate'] = time.time()
    return {'ARN': s['ARN'], 'Name': s['Name']}


# ---- replication -----------------------------------------------------------------------------

@operation('ReplicateSecretToRegions')
def replicate_secret_to_regions(ctx, p):
    s = _secret(ctx, p['SecretId'])
    for r in p['AddReplicaRegions']:
        if not r.get('Region'):
            raise _invalid('Region must be specified for each replica.')
        _add_replica(ctx, s, r)
    s['LastChangedDate'] = time.time()
    return {'ARN': s['ARN'], 'ReplicationStatus': clone(s['_replicas'])}


@operation('RemoveRegionsFromReplication')
def remove_regions_from_replication(ctx, p):
    s = _secret(ctx, p['SecretId'])
    present = {r['Region'] for r in s['_replicas']}
    for region in p['RemoveReplicaRegions']:
        if region not in present:
            raise _invalid('The secret is not replicated to %s.' % region)
    s['_replicas'] = [r for r in s['_replicas'] if r['Region'] not in p['RemoveReplicaRegions']]
    s['LastChangedDate'] = time.time()
    return {'ARN': s['ARN'], 'ReplicationStatus': clone(s['_replicas'])}


# ---- listing, deletion, tags ------------------------------------------------------------------

@operation('ListSecrets')
def list_secrets(ctx, p):
    limit = check_limit(p.get('MaxResults'), 1, 100, 100, _invalid('MaxResults must be between 1 and 100'))
    items = [s for s in ctx.store['secrets'].values()
             if p.get('IncludePlannedDeletion') or s.get('DeletedDate') is None]
    for f in p.get('Filters') or []:
        items = [s for s in items if _filter_match(ctx, s, f['Key'], f.get('Values') or [])]
    reverse = p.get('SortOrder') == 'desc'
    page, nxt = paginate(items, (lambda s: -s['_seq']) if reverse else (lambda s: s['_seq']),
                         p.get('NextToken'), limit, 'ListSecrets',
                         AwsError('InvalidNextTokenException', 'The NextToken value is invalid.'))
    out = []
    for s in page:
        d = _describe(ctx, s)
        d['SecretVersionsToStages'] = d.pop('VersionIdsToStages')
        d.pop('ReplicationStatus', None)
        out.append(d)
    return {'SecretList': out, 'NextToken': nxt}


def _filter_match(ctx, s, key, values):
    """AWS matches filter values as case-insensitive prefixes; a leading ! negates."""
    fields = {'name': [s['Name']], 'description': [s.get('Description', '')],
              'tag-key': [t['Key'] for t in s['_tags']],
              'tag-value': [t.get('Value', '') for t in s['_tags']],
              'primary-region': [ctx.region], 'owning-service': []}
    fields['all'] = sum(fields.values(), [])
    cands = [c.lower() for c in fields.get(key, [])]
    for v in values:
        neg = v.startswith('!')
        v = v.lstrip('!').lower()
        hit = any(c.startswith(v) for c in cands)
        if hit != neg:
            return True
    return False


@operation('DeleteSecret')
def delete_secret(ctx, p):
    s = _secret(ctx, p['SecretId'])
    force = p.get('ForceDeleteWithoutRecovery', False)
    window = p.get('RecoveryWindowInDays')
    if force and window is not None:
        raise _invalid("You can't use ForceDeleteWithoutRecovery in conjunction with "
                       "RecoveryWindowInDays.")
    if window is not None and not 7 <= window <= 30:
        raise _invalid('RecoveryWindowInDays value must be between 7 and 30 days (inclusive).')
    now = time.time()
    if force:
        del ctx.store['secrets'][s['Name']]
        deleted = now
    else:
        deleted = now + (window or 30) * DAY
        s['DeletedDate'] = now
    return {'ARN': s['ARN'], 'Name': s['Name'], 'DeletionDate': deleted}


@operation('RestoreSecret')
def restore_secret(ctx, p):
    s = _secret(ctx, p['SecretId'], allow_deleted=True)
    s.pop('DeletedDate', None)
    return {'ARN': s['ARN'], 'Name': s['Name']}


@operation('TagResource')
def tag_resource(ctx, p):
    s = _secret(ctx, p['SecretId'])
    tags = {t['Key']: t.get('Value', '') for t in s['_tags']}
    tags.update({t['Key']: t.get('Value', '') for t in p['Tags']})
    if len(tags) > 50:
        raise _invalid('The number of tags exceeds the limit of 50.')
    s['_tags'] = [{'Key': k, 'Value': v} for k, v in tags.items()]
    return {}


@operation('UntagResource')
def untag_resource(ctx, p):
    s = _secret(ctx, p['SecretId'])
    s['_tags'] = [t for t in s['_tags'] if t['Key'] not in p['TagKeys']]
    return {}


def age_versions(sim, account_id, region, ref, seconds):
    """Control API: makes a secret's versions `seconds` older, as if its last rotation had
    started that long ago (a stuck AWSPENDING past its window without waiting hours). Answers
    how many versions moved."""
    store = sim.state.store(_me(), account_id, region)
    s = store['secrets'].get(ref) or next(
        (x for x in store['secrets'].values() if x['ARN'] == ref), None)
    if s is None:
        return 0
    for v in s['_versions'].values():
        v['created'] -= seconds
    return len(s['_versions'])


# ---- IAM (sim/iam.py): the secret's ARN (with AWS's random suffix) ---------------------------

def _iam_secret(ctx, p):
    ref = p.get('SecretId') or p.get('Name')
    try:
        return [_secret(ctx, ref, allow_deleted=True)['ARN']]
    except AwsError:
        if ref.startswith('arn:'):
            return [ref]
        return ['arn:aws:secretsmanager:%s:%s:secret:%s-??????' % (ctx.region, ctx.account, ref)]


IAM_RESOURCES = {op: _iam_secret for op in OPS if op != 'ListSecrets'}


def iam_tags(ctx, arn):
    for s in ctx.store['secrets'].values():
        if s['ARN'] == arn:
            return {t['Key']: t.get('Value', '') for t in s['_tags']}
    return None

"""Amazon CloudFront distributions (global; signed for us-east-1).

Every change gives the distribution a new ETag; UpdateDistribution needs the current one in
If-Match (missing: InvalidIfMatchVersion, stale: 412 PreconditionFailed). A change puts the
distribution InProgress until the "cloudfront" delay has passed, then Deployed. The whole
DistributionConfig a client sends is stored and returned, including fields trimtab does not
manage, with AWS's defaults filled in for what was left out, so a read-modify-write round trip
keeps everything.
"""

import string
import sys
import time

from ..errors import AwsError
from ..util import rand_id
from . import clone, ops

SERVICE = 'cloudfront'
OPS, operation = ops()

_UPPER = string.ascii_uppercase + string.digits
_LOWER = string.ascii_lowercase + string.digits


def new_store():
    return {'distributions': {}, 'tags': {}}


def _me():
    return sys.modules[__name__]


def _no_such():
    return AwsError('NoSuchDistribution', 'The specified distribution does not exist.')


def _etag():
    return 'E' + rand_id(13, _UPPER)


def _empty(**extra):
    d = {'Quantity': 0}
    d.update(extra)
    return d


def _behavior_defaults(b):
    b.setdefault('TrustedSigners', _empty(Enabled=False))
    b.setdefault('TrustedKeyGroups', _empty(Enabled=False))
    b.setdefault('AllowedMethods', {'Quantity': 2, 'Items': ['HEAD', 'GET'],
                                    'CachedMethods': {'Quantity': 2, 'Items': ['HEAD', 'GET']}})
    b.setdefault('SmoothStreaming', False)
    b.setdefault('Compress', False)
    b.setdefault('LambdaFunctionAssociations', _empty())
    b.setdefault('FunctionAssociations', _empty())
    b.setdefault('FieldLevelEncryptionId', '')


def fill_defaults(cfg):
    """Adds the values AWS reports for members a DistributionConfig left out."""
    cfg.setdefault('Aliases', _empty())
    cfg.setdefault('DefaultRootObject', '')
    cfg.setdefault('OriginGroups', _empty())
    cfg.setdefault('CacheBehaviors', _empty())
    cfg.setdefault('CustomErrorResponses', _empty())
    cfg.setdefault('Logging', {'Enabled': False, 'IncludeCookies': False, 'Bucket': '', 'Prefix': ''})
    cfg.setdefault('PriceClass', 'PriceClass_All')
    cfg.setdefault('ViewerCertificate', {'CloudFrontDefaultCertificate': True,
                                         'SSLSupportMethod': 'vip',
                                         'MinimumProtocolVersion': 'TLSv1',
                                         'CertificateSource': 'cloudfront'})
    cfg.setdefault('Restrictions', {'GeoRestriction': {'RestrictionType': 'none', 'Quantity': 0}})
    cfg.setdefault('WebACLId', '')
    cfg.setdefault('HttpVersion', 'http2')
    cfg.setdefault('IsIPV6Enabled', False)
    cfg.setdefault('ContinuousDeploymentPolicyId', '')
    cfg.setdefault('Staging', False)
    for o in cfg['Origins'].get('Items', []):
        o.setdefault('OriginPath', '')
        o.setdefault('CustomHeaders', _empty())
        o.setdefault('ConnectionAttempts', 3)
        o.setdefault('ConnectionTimeout', 10)
        o.setdefault('OriginShield', {'Enabled': False})
        o.setdefault('OriginAccessControlId', '')
        custom = o.get('CustomOriginConfig')
        if custom is not None:
            custom.setdefault('OriginReadTimeout', 30)
            custom.setdefault('OriginKeepaliveTimeout', 5)
    _behavior_defaults(cfg['DefaultCacheBehavior'])
    for b in cfg['CacheBehaviors'].get('Items', []):
        _behavior_defaults(b)
    return cfg


def _check_quantities(value, path='DistributionConfig'):
    """Every {Quantity, Items} pair must agree, as CloudFront checks."""
    if isinstance(value, dict):
        if 'Quantity' in value:
            n = len(value.get('Items') or [])
            if value['Quantity'] != n:
                raise AwsError('InconsistentQuantities', 'The value of Quantity and the size of '
                               'Items don\'t match. (%s)' % path)
        for k, v in value.items():
            _check_quantities(v, path + '.' + k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_quantities(v, '%s[%d]' % (path, i))


def _check_config(cfg):
    _check_quantities(cfg)
    origins = {o['Id'] for o in cfg['Origins'].get('Items', [])}
    groups = {g['Id'] for g in (cfg.get('OriginGroups') or {}).get('Items', [])}
    if len(origins) != len(cfg['Origins'].get('Items', [])):
        raise AwsError('InvalidArgument', 'The parameter Origin Id must be unique.')
    behaviors = [cfg['DefaultCacheBehavior']] + list((cfg.get('CacheBehaviors') or {}).get('Items', []))
    for b in behaviors:
        if b['TargetOriginId'] not in origins | groups:
            raise AwsError('NoSuchOrigin', 'One or more of your origins or origin groups do not exist.')
        if not b.get('CachePolicyId') and b.get('ForwardedValues') is None:
            raise AwsError('InvalidArgument', 'The parameter ForwardedValues is required.')
        if b.get('CachePolicyId') and b.get('ForwardedValues') is not None:
            raise AwsError('InvalidArgument', 'The parameter ForwardedValues cannot be used when a '
                           'cache policy is associated to the cache behavior.')
    for o in cfg['Origins'].get('Items', []):
        shield = o.get('OriginShield')
        if shield and shield.get('Enabled') and not shield.get('OriginShieldRegion'):
            raise AwsError('InvalidArgument', 'The parameter OriginShieldRegion is required when '
                           'Origin Shield is enabled.')
        if o.get('S3OriginConfig') is not None and o.get('CustomOriginConfig') is not None:
            raise AwsError('InvalidOrigin', 'The specified origin server does not exist or is not '
                           'valid.')


def _deploy_later(ctx, d):
    gen = d['_gen'] = d.get('_gen', 0) + 1

    def deployed():
        if d.get('_gen') == gen:
            d['Status'] = 'Deployed'
    ctx.later('cloudfront', deployed)


def create_distribution(ctx, store, cfg, status='InProgress', dist_id=None):
    did = dist_id or 'E' + rand_id(13, _UPPER)
    d = {'Id': did, 'ARN': 'arn:aws:cloudfront::%s:distribution/%s' % (ctx.account, did),
         'Status': status, 'LastModifiedTime': time.time(), 'InProgressInvalidationBatches': 0,
         'DomainName': 'd%s.cloudfront.net' % rand_id(13, _LOWER),
         'ActiveTrustedSigners': _empty(Enabled=False), 'ActiveTrustedKeyGroups': _empty(Enabled=False),
         'DistributionConfig': fill_defaults(clone(cfg)), '_etag': _etag(), '_seq': ctx.seq()}
    store['distributions'][did] = d
    store['tags'][d['ARN']] = {}
    if status != 'Deployed':
        _deploy_later(ctx, d)
    return d


def _create(ctx, cfg, tags):
    for d in ctx.store['distributions'].values():
        if d['DistributionConfig']['CallerReference'] == cfg['CallerReference']:
            raise AwsError('DistributionAlreadyExists', 'The caller reference that you are using '
                           'to create a distribution is associated with another distribution.',
                           fields={})
    _check_config(cfg)
    d = create_distribution(ctx, ctx.store, cfg)
    ctx.store['tags'][d['ARN']] = tags
    return {'Distribution': _out(d), 'ETag': d['_etag'],
            'Location': 'https://cloudfront.amazonaws.com/2020-05-31/distribution/%s' % d['Id']}


def _out(d):
    return clone({k: v for k, v in d.items() if not k.startswith('_')})


@operation('CreateDistribution')
def op_create_distribution(ctx, p):
    return _create(ctx, p['DistributionConfig'], {})


@operation('CreateDistributionWithTags')
def create_distribution_with_tags(ctx, p):
    body = p['DistributionConfigWithTags']
    tags = {t['Key']: t.get('Value', '') for t in body['Tags'].get('Items', [])}
    return _create(ctx, body['DistributionConfig'], tags)


def _dist(ctx, did):
    d = ctx.store['distributions'].get(did)
    if d is None:
        raise _no_such()
    return d


@operation('GetDistribution')
def get_distribution(ctx, p):
    d = _dist(ctx, p['Id'])
    return {'Distribution': _out(d), 'ETag': d['_etag']}


@operation('GetDistributionConfig')
def get_distribution_config(ctx, p):
    d = _dist(ctx, p['Id'])
    return {'DistributionConfig': clone(d['DistributionConfig']), 'ETag': d['_etag']}


@operation('UpdateDistribution')
def update_distribution(ctx, p):
    d = _dist(ctx, p['Id'])
    if not p.get('IfMatch'):
        raise AwsError('InvalidIfMatchVersion', 'The If-Match version is missing or not valid for '
                       'the resource.')
    if p['IfMatch'] != d['_etag']:
        raise AwsError('PreconditionFailed', 'The precondition given in one or more of the '
                       'request-header fields evaluated to false.')
    cfg = p['DistributionConfig']
    if cfg['CallerReference'] != d['DistributionConfig']['CallerReference']:
        raise AwsError('IllegalUpdate', 'Updating the CallerReference of a distribution is not '
                       'allowed.')
    _check_config(cfg)
    d['DistributionConfig'] = fill_defaults(clone(cfg))
    d['_etag'] = _etag()
    d['Status'] = 'InProgress'
    d['LastModifiedTime'] = time.time()
    _deploy_later(ctx, d)
    return {'Distribution': _out(d), 'ETag': d['_etag']}


@operation('DeleteDistribution')
def delete_distribution(ctx, p):
    d = _dist(ctx, p['Id'])
    if not p.get('IfMatch'):
        raise AwsError('InvalidIfMatchVersion', 'The If-Match version is missing or not valid for '
                       'the resource.')
    if p['IfMatch'] != d['_etag']:
        raise AwsError('PreconditionFailed', 'The precondition given in one or more of the '
                       'request-header fields evaluated to false.')
    if d['DistributionConfig']['Enabled'] or d['Status'] != 'Deployed':
        raise AwsError('DistributionNotDisabled', 'The distribution you are trying to delete has '
                       'not been disabled.')
    del ctx.store['distributions'][d['Id']]
    ctx.store['tags'].pop(d['ARN'], None)
    return {}


def _summary(d):
    cfg = d['DistributionConfig']
    s = {k: clone(cfg[k]) for k in ('Aliases', 'Origins', 'OriginGroups', 'DefaultCacheBehavior',
                                    'CacheBehaviors', 'CustomErrorResponses', 'Comment',
                                    'PriceClass', 'Enabled', 'ViewerCertificate', 'Restrictions',
                                    'WebACLId', 'HttpVersion', 'IsIPV6Enabled', 'Staging')
         if k in cfg}
    s.update({'Id': d['Id'], 'ARN': d['ARN'], 'ETag': d['_etag'], 'Status': d['Status'],
              'LastModifiedTime': d['LastModifiedTime'], 'DomainName': d['DomainName'],
              'AliasICPRecordals': []})
    return s


@operation('ListDistributions')
def list_distributions(ctx, p):
    raw = p.get('MaxItems', '100')
    try:
        limit = int(raw)
    except ValueError:
        raise AwsError('InvalidArgument', 'MaxItems must be a number.')
    if not 1 <= limit <= 1000:
        raise AwsError('InvalidArgument', 'MaxItems must be between 1 and 1000.')
    items = sorted(ctx.store['distributions'].values(), key=lambda d: d['_seq'])
    marker = p.get('Marker', '')
    start = 0
    if marker:
        ids = [d['Id'] for d in items]
        if marker not in ids:
            raise AwsError('InvalidArgument', 'The marker is not valid.')
        start = ids.index(marker) + 1
    page = items[start:start + limit]
    truncated = start + limit < len(items)
    out = {'Marker': marker, 'MaxItems': limit, 'IsTruncated': truncated, 'Quantity': len(page)}
    if page:
        out['Items'] = [_summary(d) for d in page]
    if truncated:
        out['NextMarker'] = page[-1]['Id']
    return {'DistributionList': out}


# ---- tags ------------------------------------------------------------------------------------

def _tags(ctx, arn):
    if not arn.startswith('arn:aws:cloudfront::'):
        raise AwsError('InvalidArgument', 'The parameter Resource is not a valid CloudFront ARN.')
    tags = ctx.store['tags'].get(arn)
    if tags is None:
        raise AwsError('NoSuchResource', 'The specified CloudFront resource does not exist.')
    return tags


@operation('TagResource')
def tag_resource(ctx, p):
    tags = _tags(ctx, p['Resource'])
    new = {t['Key']: t.get('Value', '') for t in p['Tags'].get('Items', [])}
    if len(dict(tags, **new)) > 50:
        raise AwsError('InvalidTagging', 'The number of tags exceeds the limit of 50.')
    tags.update(new)
    return {}


@operation('UntagResource')
def untag_resource(ctx, p):
    tags = _tags(ctx, p['Resource'])
    for k in p['TagKeys'].get('Items', []):
        tags.pop(k, None)
    return {}


@operation('ListTagsForResource')
def list_tags_for_resource(ctx, p):
    tags = _tags(ctx, p['Resource'])
    return {'Tags': {'Items': [{'Key': k, 'Value': v} for k, v in tags.items()]}}


# ---- IAM (sim/iam.py): CloudFront ARNs have no region -----------------------------------------

def _iam_distribution(ctx, p):
    return ['arn:aws:cloudfront::%s:distribution/%s' % (ctx.account, p['Id'])]


def _iam_arn(ctx, p):
    return [p['Resource']]


IAM_RESOURCES = {'GetDistribution': _iam_distribution, 'GetDistributionConfig': _iam_distribution,
                 'UpdateDistribution': _iam_distribution, 'DeleteDistribution': _iam_distribution,
                 'TagResource': _iam_arn, 'UntagResource': _iam_arn,
                 'ListTagsForResource': _iam_arn}


def iam_tags(ctx, arn):
    return ctx.store['tags'].get(arn)

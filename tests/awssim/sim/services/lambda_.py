"""AWS Lambda: functions, versions, aliases, reserved and provisioned concurrency, tags.

Account concurrency is 1000 with at least 100 left unreserved, as in a fresh AWS account.
Provisioned concurrency is IN_PROGRESS and becomes READY after the "lambda" delay.
"""

import base64
import hashlib
import json
import re
import sys
import time

from ..errors import AwsError
from ..util import lambda_time, new_uuid, paginate
from . import clone, ops

SERVICE = 'lambda'
OPS, operation = ops()

ACCOUNT_CONCURRENCY = 1000
MIN_UNRESERVED = 100

_ARN = re.compile(r'^(?:arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):)?(?:(\d{12}):)?(?:function:)?'
                  r'([a-zA-Z0-9_-]+)(?::(\$LATEST|[a-zA-Z0-9_-]+))?$')


def new_store():
    return {'functions': {}}


def _me():
    return sys.modules[__name__]


def _invalid(msg):
    return AwsError('InvalidParameterValueException', msg, fields={'Type': 'User'})


def _fn_arn(ctx, name, qualifier=None):
    arn = 'arn:aws:lambda:%s:%s:function:%s' % (ctx.region, ctx.account, name)
    return arn + ':' + qualifier if qualifier else arn


def _not_found(ctx, name, qualifier=None):
    return AwsError('ResourceNotFoundException', 'Function not found: %s'
                    % _fn_arn(ctx, name, qualifier), fields={'Type': 'User'})


def _parse_name(ref, qualifier=None):
    """(name, qualifier) from a function name, partial ARN or ARN with an optional qualifier."""
    m = _ARN.match(ref)
    if not m:
        raise _invalid('Invalid function name: %s' % ref)
    name, q = m.group(3), m.group(4)
    if q and qualifier and q != qualifier:
        raise _invalid('The derived qualifier from the function name does not match the '
                       'specified qualifier.')
    return name, q or qualifier


def _function(ctx, ref, qualifier=None):
    name, q = _parse_name(ref, qualifier)
    fn = ctx.store['functions'].get(name)
    if fn is None:
        raise _not_found(ctx, name, q)
    return fn, q


def _config_for(ctx, fn, q):
    """The FunctionConfiguration of qualifier q ($LATEST, a version or an alias)."""
    if q in (None, '$LATEST'):
        return fn['latest']
    if q.isdigit():
        cfg = fn['versions'].get(q)
    else:
        alias = fn['aliases'].get(q)
        cfg = None if alias is None else (fn['latest'] if alias['FunctionVersion'] == '$LATEST'
                                          else fn['versions'].get(alias['FunctionVersion']))
    if cfg is None:
        raise _not_found(ctx, fn['latest']['FunctionName'], q)
    return cfg


def create_function(ctx, store, p, state='Pending'):
    name = p['FunctionName']
    code = p.get('Code') or {}
    blob = code.get('ZipFile') or (code.get('S3Key') or code.get('ImageUri') or name).encode()
    now = time.time()
    cfg = {'FunctionName': name, 'FunctionArn': _fn_arn(ctx, name),
           'Role': p['Role'], 'CodeSize': len(blob), 'Description': p.get('Description', ''),
           'Timeout': p.get('Timeout', 3), 'MemorySize': p.get('MemorySize', 128),
           'LastModified': lambda_time(now),
           'CodeSha256': base64.b64encode(hashlib.sha256(blob).digest()).decode(),
           'Version': '$LATEST', 'TracingConfig': p.get('TracingConfig') or {'Mode': 'PassThrough'},
           'RevisionId': new_uuid(), 'State': state,
           'PackageType': p.get('PackageType', 'Zip'),
           'Architectures': p.get('Architectures') or ['x86_64'],
           'EphemeralStorage': p.get('EphemeralStorage') or {'Size': 512},
           'SnapStart': {'ApplyOn': 'None', 'OptimizationStatus': 'Off'},
           'LoggingConfig': {'LogFormat': 'Text', 'LogGroup': '/aws/lambda/%s' % name}}
    if cfg['PackageType'] == 'Zip':
        cfg['Runtime'] = p.get('Runtime')
        cfg['Handler'] = p.get('Handler')
    for k in ('Environment', 'VpcConfig', 'DeadLetterConfig', 'KMSKeyArn', 'Layers'):
        if p.get(k) is not None:
            cfg[k] = clone(p[k])
    if cfg.get('Layers'):
        cfg['Layers'] = [{'Arn': a, 'CodeSize': 0} for a in cfg['Layers']]
    if state == 'Pending':
        cfg['StateReason'] = 'The function is being created.'
        cfg['StateReasonCode'] = 'Creating'
    fn = {'latest': cfg, 'versions': {}, 'aliases': {}, 'reserved': None, 'pc': {},
          'tags': dict(p.get('Tags') or {}), 'next_version': 1, '_seq': ctx.seq()}
    store['functions'][name] = fn
    if state == 'Pending':
        def active():
            cfg['State'] = 'Active'
            cfg.pop('StateReason', None)
            cfg.pop('StateReasonCode', None)
            cfg['LastUpdateStatus'] = 'Successful'
        ctx.later('lambda', active, delay=0)
    return fn


@operation('CreateFunction')
def op_create_function(ctx, p):
    name = p['FunctionName']
    if not re.fullmatch(r'[a-zA-Z0-9_-]{1,64}', name):
        name, q = _parse_name(name)
        if q:
            raise _invalid('Function names cannot contain a qualifier.')
        p = dict(p, FunctionName=name)
    if name in ctx.store['functions']:
        raise AwsError('ResourceConflictException', 'Function already exist: %s' % name,
                       fields={'Type': 'User'})
    if p.get('PackageType', 'Zip') == 'Zip':
        if not p.get('Runtime') or not p.get('Handler'):
            raise _invalid('Runtime and Handler are mandatory parameters for functions created '
                           'with deployment packages.')
        code = p['Code']
        if not code.get('ZipFile') and not code.get('S3Bucket'):
            raise _invalid('Please provide a source for function code.')
    elif not p['Code'].get('ImageUri'):
        raise _invalid('Please provide ImageUri when updating a function with packageType Image.')
    fn = create_function(ctx, ctx.store, p)
    out = clone(fn['latest'])
    if p.get('Publish'):
        out = clone(publish(ctx, fn, None))
    return out


@operation('GetFunction')
def get_function(ctx, p):
    fn, q = _function(ctx, p['FunctionName'], p.get('Qualifier'))
    cfg = _config_for(ctx, fn, q)
    out = {'Configuration': clone(cfg),
           'Code': {'RepositoryType': 'S3',
                    'Location': 'https://awslambda-%s-tasks.s3.%s.amazonaws.com/snapshots/%s/%s-%s'
                                % (ctx.region, ctx.region, ctx.account, cfg['FunctionName'],
                                   new_uuid())}}
    if fn['tags']:
        out['Tags'] = dict(fn['tags'])
    if fn['reserved'] is not None:
        out['Concurrency'] = {'ReservedConcurrentExecutions': fn['reserved']}
    return out


def _fingerprint(cfg):
    keep = {k: v for k, v in cfg.items() if k not in ('FunctionArn', 'LastModified', 'Version',
                                                      'RevisionId', 'State', 'LastUpdateStatus',
                                                      'StateReason', 'StateReasonCode')}
    return json.dumps(keep, sort_keys=True, default=str)


def publish(ctx, fn, description):
    latest = fn['latest']
    if fn['versions']:
        last = fn['versions'][str(fn['next_version'] - 1)]
        if _fingerprint(last) == _fingerprint(dict(latest, Description=last['Description'])) \
                and description in (None, last['Description']):
            return last
    v = str(fn['next_version'])
    fn['next_version'] += 1
    cfg = clone(latest)
    cfg['Version'] = v
    cfg['FunctionArn'] = latest['FunctionArn'] + ':' + v
    cfg['RevisionId'] = new_uuid()
    cfg['State'] = 'Active'
    cfg.pop('StateReason', None)
    cfg.pop('StateReasonCode', None)
    if description is not None:
        cfg['Description'] = description
    fn['versions'][v] = cfg
    return cfg


@operation('PublishVersion')
def publish_version(ctx, p):
    fn, q = _function(ctx, p['FunctionName'])
    if q:
        raise _invalid('Function name cannot contain a qualifier for PublishVersion.')
    latest = fn['latest']
    if p.get('CodeSha256') and p['CodeSha256'] != latest['CodeSha256']:
        raise _invalid('CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). '
                       'Please try again with the CodeSHA256 in $LATEST.'
                       % (p['CodeSha256'], latest['CodeSha256']))
    if p.get('RevisionId') and p['RevisionId'] != latest['RevisionId']:
        raise AwsError('PreconditionFailedException', 'The Revision Id provided does not match the '
                       'latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest '
                       'Revision Id', fields={'Type': 'User'})
    return clone(publish(ctx, fn, p.get('Description')))


def _alias_out(ctx, fn, alias):
    return clone(alias)


@operation('CreateAlias')
def create_alias(ctx, p):
    fn, q = _function(ctx, p['FunctionName'])
    name = fn['latest']['FunctionName']
    if p['FunctionVersion'] != '$LATEST' and p['FunctionVersion'] not in fn['versions']:
        raise _not_found(ctx, name, p['FunctionVersion'])
    if p['Name'] in fn['aliases']:
        raise AwsError('ResourceConflictException', 'Alias already exists: %s'
                       % _fn_arn(ctx, name, p['Name']), fields={'Type': 'User'})
    alias = {'AliasArn': _fn_arn(ctx, name, p['Name']), 'Name': p['Name'],
             'FunctionVersion': p['FunctionVersion'], 'Description': p.get('Description', ''),
             'RevisionId': new_uuid()}
    if p.get('RoutingConfig'):
        alias['RoutingConfig'] = clone(p['RoutingConfig'])
    fn['aliases'][p['Name']] = alias
    return _alias_out(ctx, fn, alias)


@operation('GetAlias')
def get_alias(ctx, p):
    fn, _ = _function(ctx, p['FunctionName'])
    alias = fn['aliases'].get(p['Name'])
    if alias is None:
        raise AwsError('ResourceNotFoundException', 'Cannot find alias arn: %s'
                       % _fn_arn(ctx, fn['latest']['FunctionName'], p['Name']),
                       fields={'Type': 'User'})
    return _alias_out(ctx, fn, alias)


# ---- reserved concurrency --------------------------------------------------------------------

def _reserved_total(store, skip=None):
    return sum(f['reserved'] or 0 for n, f in store['functions'].items() if n != skip)


@operation('PutFunctionConcurrency')
def put_function_concurrency(ctx, p):
    fn, q = _function(ctx, p['FunctionName'])
    if q:
        raise _invalid('Concurrency can only be set on the unqualified function.')
    want = p['ReservedConcurrentExecutions']
    name = fn['latest']['FunctionName']
    if ACCOUNT_CONCURRENCY - _reserved_total(ctx.store, name) - want < MIN_UNRESERVED:
        raise _invalid('Specified ReservedConcurrentExecutions for function decreases account\'s '
                       'UnreservedConcurrentExecution below its minimum value of [%d].'
                       % MIN_UNRESERVED)
    provisioned = sum(c['RequestedProvisionedConcurrentExecutions'] for c in fn['pc'].values())
    if want < provisioned:
        raise _invalid('ReservedConcurrentExecutions %d is lower than the function\'s total '
                       'provisioned concurrency %d.' % (want, provisioned))
    fn['reserved'] = want
    return {'ReservedConcurrentExecutions': want}


@operation('GetFunctionConcurrency')
def get_function_concurrency(ctx, p):
    fn, _ = _function(ctx, p['FunctionName'])
    if fn['reserved'] is None:
        return {}
    return {'ReservedConcurrentExecutions': fn['reserved']}


@operation('DeleteFunctionConcurrency')
def delete_function_concurrency(ctx, p):
    fn, _ = _function(ctx, p['FunctionName'])
    fn['reserved'] = None
    return {}


# ---- provisioned concurrency -----------------------------------------------------------------

def _pc_target(ctx, fn, qualifier):
    """Checks that qualifier is a published version or an alias of fn."""
    name = fn['latest']['FunctionName']
    if qualifier == '$LATEST':
        raise _invalid('Provisioned Concurrency Configs cannot be applied to unpublished function '
                       'versions.')
    if qualifier.isdigit():
        if qualifier not in fn['versions']:
            raise _not_found(ctx, name, qualifier)
    elif qualifier not in fn['aliases']:
        raise _not_found(ctx, name, qualifier)
    elif fn['aliases'][qualifier]['FunctionVersion'] == '$LATEST':
        raise _invalid('Provisioned Concurrency Configs cannot be applied to an alias that points '
                       'to $LATEST.')


def put_pc(ctx, fn, qualifier, value):
    limit = fn['reserved'] if fn['reserved'] is not None else \
        ACCOUNT_CONCURRENCY - _reserved_total(ctx.store_for(_me())) - MIN_UNRESERVED
    others = sum(c['RequestedProvisionedConcurrentExecutions'] for q, c in fn['pc'].items()
                 if q != qualifier)
    if others + value > limit:
        raise _invalid('Requested Provisioned Concurrency should not be greater than the '
                       'reservedConcurrentExecution for function' if fn['reserved'] is not None
                       else 'Specified ConcurrentExecutions for function is greater than account\'s '
                       'unreserved concurrency: [%d]' % limit)
    cfg = {'RequestedProvisionedConcurrentExecutions': value,
           'AvailableProvisionedConcurrentExecutions': 0,
           'AllocatedProvisionedConcurrentExecutions': 0, 'Status': 'IN_PROGRESS',
           'LastModified': lambda_time(time.time()),
           'FunctionArn': _fn_arn(ctx, fn['latest']['FunctionName'], qualifier)}
    fn['pc'][qualifier] = cfg

    def ready():
        if fn['pc'].get(qualifier) is cfg:
            cfg['Status'] = 'READY'
            cfg['AvailableProvisionedConcurrentExecutions'] = value
            cfg['AllocatedProvisionedConcurrentExecutions'] = value
            cfg['LastModified'] = lambda_time(time.time())
    ctx.later('lambda', ready)
    return cfg


@operation('PutProvisionedConcurrencyConfig')
def put_provisioned_concurrency_config(ctx, p):
    fn, q = _function(ctx, p['FunctionName'], p['Qualifier'])
    _pc_target(ctx, fn, q)
    cfg = put_pc(ctx, fn, q, p['ProvisionedConcurrentExecutions'])
    return {k: v for k, v in cfg.items() if k != 'FunctionArn'}


def _pc_not_found():
    return AwsError('ProvisionedConcurrencyConfigNotFoundException',
                    'No Provisioned Concurrency Config found for this function',
                    fields={'Type': 'User'})


@operation('GetProvisionedConcurrencyConfig')
def get_provisioned_concurrency_config(ctx, p):
    fn, q = _function(ctx, p['FunctionName'], p['Qualifier'])
    _pc_target(ctx, fn, q)
    cfg = fn['pc'].get(q)
    if cfg is None:
        raise _pc_not_found()
    return {k: v for k, v in cfg.items() if k != 'FunctionArn'}


@operation('DeleteProvisionedConcurrencyConfig')
def delete_provisioned_concurrency_config(ctx, p):
    fn, q = _function(ctx, p['FunctionName'], p['Qualifier'])
    _pc_target(ctx, fn, q)
    fn['pc'].pop(q, None)
    return {}


@operation('ListProvisionedConcurrencyConfigs')
def list_provisioned_concurrency_configs(ctx, p):
    fn, _ = _function(ctx, p['FunctionName'])
    limit = p.get('MaxItems', 50)
    items = list(fn['pc'].values())
    page, nxt = paginate(items, lambda c: c['FunctionArn'], p.get('Marker'), limit,
                         'ListProvisionedConcurrencyConfigs', _invalid('Invalid marker'))
    return {'ProvisionedConcurrencyConfigs': clone(page), 'NextMarker': nxt}


# ---- tags ------------------------------------------------------------------------------------

def _tag_target(ctx, arn):
    m = re.match(r'^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:([a-zA-Z0-9_-]+)$', arn)
    if not m:
        raise _invalid('Tags can only be applied to functions, not to versions or aliases: %s' % arn)
    fn = ctx.store['functions'].get(m.group(1))
    if fn is None:
        raise _not_found(ctx, m.group(1))
    return fn


@operation('TagResource')
def tag_resource(ctx, p):
    _tag_target(ctx, p['Resource'])['tags'].update(p['Tags'])
    return {}


@operation('UntagResource')
def untag_resource(ctx, p):
    fn = _tag_target(ctx, p['Resource'])
    for k in p['TagKeys']:
        fn['tags'].pop(k, None)
    return {}


@operation('ListTags')
def list_tags(ctx, p):
    return {'Tags': dict(_tag_target(ctx, p['Resource'])['tags'])}


# ---- Application Auto Scaling: lambda:function:ProvisionedConcurrency -----------------------

def _aas_fn(ctx, m):
    return ctx.store_for(_me())['functions'].get(m.group(1))


def aas_check(ctx, dim, m):
    fn = _aas_fn(ctx, m)
    q = m.group(2)
    if fn is None or q == '$LATEST' or (q.isdigit() and q not in fn['versions']) or \
            (not q.isdigit() and q not in fn['aliases']):
        raise AwsError('ValidationException', 'Lambda function alias or version doesn\'t exist: '
                       'function:%s:%s' % (m.group(1), q))


def aas_get(ctx, dim, m):
    cfg = _aas_fn(ctx, m)['pc'].get(m.group(2))
    return cfg['RequestedProvisionedConcurrentExecutions'] if cfg else 0


def aas_set(ctx, dim, m, value):
    fn = _aas_fn(ctx, m)
    if value <= 0:
        fn['pc'].pop(m.group(2), None)
    else:
        put_pc(ctx, fn, m.group(2), value)


def aas_describe(dim, m, value):
    return 'Setting provisioned concurrency to %d.' % value


# ---- IAM (sim/iam.py): the function, qualified when the call names a version or alias -------

def _iam_function(ctx, p):
    name, qualifier = _parse_name(p['FunctionName'], p.get('Qualifier'))
    return [_fn_arn(ctx, name, qualifier)]


def _iam_unqualified(ctx, p):
    return [_fn_arn(ctx, _parse_name(p['FunctionName'])[0])]


IAM_RESOURCES = {
    'GetProvisionedConcurrencyConfig': _iam_function,
    'PutProvisionedConcurrencyConfig': _iam_function,
    'DeleteProvisionedConcurrencyConfig': _iam_function,
    'GetFunctionConcurrency': _iam_unqualified, 'PutFunctionConcurrency': _iam_unqualified,
    'DeleteFunctionConcurrency': _iam_unqualified, 'GetFunction': _iam_function,
    'GetAlias': _iam_unqualified,
}

"""Amazon RDS: DB instances and Aurora DB clusters.

ModifyDBInstance follows the API reference: with ApplyImmediately the instance goes to
"modifying" (the new values shown in PendingModifiedValues) and becomes "available" with them
after the "rds" transition delay; without it the changes wait in PendingModifiedValues for the
maintenance window (the control API's /_awssim/rds/maintenance). MaxAllocatedStorage (storage
autoscaling) is applied at once either way. Identifiers are stored in lower case, as RDS does.
"""

import re
import sys
import time

from ..errors import AwsError
from ..util import check_limit, new_uuid, paginate, rand_id
from . import clone, ops

SERVICE = 'rds'
OPS, operation = ops()

_SIZES_T = ('micro', 'small', 'medium', 'large', 'xlarge', '2xlarge')
_SIZES = ('large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge',
          '32xlarge', '48xlarge')
INSTANCE_CLASSES = {'db.serverless'}
for _fam in ('t3', 't4g'):
    INSTANCE_CLASSES.update('db.%s.%s' % (_fam, s) for s in _SIZES_T)
for _fam in ('m5', 'm5d', 'm6g', 'm6gd', 'm6i', 'm6id', 'm7g', 'm7i', 'm8g', 'r5', 'r5b', 'r5d',
             'r6g', 'r6gd', 'r6i', 'r6id', 'r7g', 'r7i', 'r8g', 'x2g', 'x2iedn'):
    INSTANCE_CLASSES.update('db.%s.%s' % (_fam, s) for s in _SIZES)

ENGINES = {
    'postgres': ('16.3', 'postgresql-license', 5432, 'default.postgres16'),
    'mysql': ('8.0.39', 'general-public-license', 3306, 'default.mysql8.0'),
    'mariadb': ('10.11.9', 'general-public-license', 3306, 'default.mariadb10.11'),
    'aurora-postgresql': ('16.4', 'postgresql-license', 5432, 'default.aurora-postgresql16'),
    'aurora-mysql': ('8.0.mysql_aurora.3.07.1', 'general-public-license', 3306,
                     'default.aurora-mysql8.0'),
}

_IDENT = re.compile(r'^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$')

INSTANCE_FILTERS = ('db-cluster-id', 'db-instance-id', 'dbi-resource-id', 'domain', 'engine')
CLUSTER_FILTERS = ('clone-group-id', 'db-cluster-id', 'db-cluster-resource-id', 'domain', 'engine')


def new_store():
    return {'instances': {}, 'clusters': {}}


def _me():
    return sys.modules[__name__]


def _invalid(msg):
    return AwsError('InvalidParameterValue', msg)


def _check_identifier(kind, ident):
    if not _IDENT.match(ident.lower()):
        raise _invalid('The parameter %s is not a valid identifier. Identifiers must begin with a '
                       'letter; must contain only ASCII letters, digits, and hyphens; and must not '
                       'end with a hyphen or contain two consecutive hyphens.' % kind)


def _check_class(cls, engine, version, license_model):
    ok = cls in INSTANCE_CLASSES and (cls != 'db.serverless' or engine.startswith('aurora'))
    if not ok:
        raise AwsError('InvalidParameterCombination', 'RDS does not support creating a DB instance '
                       'with the following combination: DBInstanceClass=%s, Engine=%s, '
                       'EngineVersion=%s, LicenseModel=%s. For supported combinations of instance '
                       'class and database engine version, see the documentation.'
                       % (cls, engine, version, license_model))


def _not_found(ident):
    return AwsError('DBInstanceNotFound', 'DBInstance %s not found.' % ident)


def _cluster_not_found(ident):
    return AwsError('DBClusterNotFoundFault', 'DBCluster %s not found.' % ident)


def _ident(ref):
    """Identifiers may be given as ARNs; RDS compares them in lower case."""
    if ref.startswith('arn:'):
        ref = ref.rsplit(':', 1)[-1]
    return ref.lower()


def _filters(filters, allowed):
    out = {}
    for f in filters or []:
        if f['Name'] not in allowed:
            raise _invalid('Unrecognized filter name: %s' % f['Name'])
        ids = f['Name'] in ('db-instance-id', 'db-cluster-id')
        out.setdefault(f['Name'], set()).update(_ident(v) if ids else v for v in f['Values'])
    return out


def _bad_marker():
    return _invalid('Invalid marker')


def _limit(p):
    return check_limit(p.get('MaxRecords'), 20, 100, 100,
                       _invalid('Invalid value %s for MaxRecords. Must be between 20 and 100'
                                % p.get('MaxRecords')))


# ---- instances -------------------------------------------------------------------------------

def create_instance(ctx, store, p, status='creating'):
    ident = p['DBInstanceIdentifier'].lower()
    engine = p['Engine']
    version, license_model, port, pgroup = ENGINES[engine]
    version = p.get('EngineVersion', version)
    now = time.time()
    host = '%s.%s.%s.rds.amazonaws.com' % (ident, rand_id(12), ctx.region)
    inst = {'DBInstanceIdentifier': ident, 'DBInstanceClass': p['DBInstanceClass'],
            'Engine': engine, 'DBInstanceStatus': status,
            'MasterUsername': p.get('MasterUsername', 'postgres'),
            'Endpoint': {'Address': host, 'Port': p.get('Port', port),
                         'HostedZoneId': 'Z2R2ITUGPM61AM'},
            'AllocatedStorage': p.get('AllocatedStorage', 1 if engine.startswith('aurora') else 20),
            'InstanceCreateTime': now, 'PreferredBackupWindow': '03:00-03:30',
            'BackupRetentionPeriod': p.get('BackupRetentionPeriod', 1),
            'DBSecurityGroups': [],
            'VpcSecurityGroups': [{'VpcSecurityGroupId': 'sg-%s' % rand_id(17, '0123456789abcdef'),
                                   'Status': 'active'}],
            'DBParameterGroups': [{'DBParameterGroupName': p.get('DBParameterGroupName', pgroup),
                                   'ParameterApplyStatus': 'in-sync'}],
            'AvailabilityZone': p.get('AvailabilityZone', ctx.region + 'a'),
            'PreferredMaintenanceWindow': p.get('PreferredMaintenanceWindow', 'sun:05:00-sun:05:30'),
            'PendingModifiedValues': {}, 'MultiAZ': p.get('MultiAZ', False),
            'EngineVersion': version, 'AutoMinorVersionUpgrade': p.get('AutoMinorVersionUpgrade', True),
            'ReadReplicaDBInstanceIdentifiers': [], 'LicenseModel': license_model,
            'OptionGroupMemberships': [{'OptionGroupName': 'default:%s' % engine, 'Status': 'in-sync'}],
            'PubliclyAccessible': p.get('PubliclyAccessible', False),
            'StorageType': p.get('StorageType', 'aurora' if engine.startswith('aurora') else 'gp3'),
            'DbInstancePort': 0, 'StorageEncrypted': p.get('StorageEncrypted', False),
            'DbiResourceId': 'db-' + rand_id(26).upper(),
            'CACertificateIdentifier': 'rds-ca-rsa2048-g1', 'DomainMemberships': [],
            'CopyTagsToSnapshot': p.get('CopyTagsToSnapshot', False), 'MonitoringInterval': 0,
            'DBInstanceArn': 'arn:aws:rds:%s:%s:db:%s' % (ctx.region, ctx.account, ident),
            'IAMDatabaseAuthenticationEnabled': False, 'PerformanceInsightsEnabled': False,
            'DeletionProtection': p.get('DeletionProtection', False), 'AssociatedRoles': [],
            'TagList': clone(p.get('Tags', [])), 'CustomerOwnedIpEnabled': False,
            'BackupTarget': 'region', 'NetworkType': 'IPV4', '_seq': ctx.seq()}
    if p.get('DBName'):
        inst['DBName'] = p['DBName']
    if p.get('MaxAllocatedStorage') is not None:
        inst['MaxAllocatedStorage'] = p['MaxAllocatedStorage']
    if p.get('DBClusterIdentifier'):
        inst['DBClusterIdentifier'] = p['DBClusterIdentifier'].lower()
        inst['PromotionTier'] = p.get('PromotionTier', 1)
    store['instances'][ident] = inst
    if status != 'available':
        def ready():
            if inst['DBInstanceStatus'] == status:
                inst['DBInstanceStatus'] = 'available'
                inst['LatestRestorableTime'] = time.time()
        ctx.later('rds', ready)
    else:
        inst['LatestRestorableTime'] = now
    return inst


def _cluster_member_add(store, inst, writer):
    cl = store['clusters'].get(inst.get('DBClusterIdentifier'))
    if cl is not None:
        cl['DBClusterMembers'].append({'DBInstanceIdentifier': inst['DBInstanceIdentifier'],
                                       'IsClusterWriter': writer,
                                       'DBClusterParameterGroupStatus': 'in-sync',
                                       'PromotionTier': inst.get('PromotionTier', 1)})


@operation('CreateDBInstance')
def create_db_instance(ctx, p):
    _check_identifier('DBInstanceIdentifier', p['DBInstanceIdentifier'])
    engine = p['Engine']
    if engine not in ENGINES:
        raise _invalid('Invalid DB engine: %s' % engine)
    version, license_model, _, _ = ENGINES[engine]
    _check_class(p['DBInstanceClass'], engine, p.get('EngineVersion', version), license_model)
    if p['DBInstanceIdentifier'].lower() in ctx.store['instances']:
        raise AwsError('DBInstanceAlreadyExists', 'DB instance already exists')
    cluster = None
    if engine.startswith('aurora'):
        if not p.get('DBClusterIdentifier'):
            raise _invalid('The parameter DBClusterIdentifier must be provided when creating an '
                           'instance of an Aurora engine.')
        cluster = ctx.store['clusters'].get(p['DBClusterIdentifier'].lower())
        if cluster is None:
            raise _cluster_not_found(p['DBClusterIdentifier'])
        if p.get('AllocatedStorage') is not None:
            raise AwsError('InvalidParameterCombination', 'The requested DB Instance will be a '
                           'member of a DB Cluster. Set storage for the DB Cluster.')
    else:
        if p.get('AllocatedStorage') is None:
            raise _invalid('Invalid storage size for engine name %s and storage type %s: null'
                           % (engine, p.get('StorageType', 'gp3')))
        if not 20 <= p['AllocatedStorage'] <= 65536:
            raise _invalid('Invalid storage size for engine name %s and storage type %s: %d'
                           % (engine, p.get('StorageType', 'gp3'), p['AllocatedStorage']))
        if not p.get('MasterUsername'):
            raise _invalid('The parameter MasterUsername must be provided and must not be blank.')
        if not p.get('MasterUserPassword') and not p.get('ManageMasterUserPassword'):
            raise _invalid('The parameter MasterUserPassword must be provided and must not be blank.')
        _check_max_storage(p.get('MaxAllocatedStorage'), p['AllocatedStorage'])
    inst = create_instance(ctx, ctx.store, p)
    if cluster is not None:
        writer = not any(m['IsClusterWriter'] for m in cluster['DBClusterMembers'])
        _cluster_member_add(ctx.store, inst, writer)
    return {'DBInstance': clone(inst)}


def _check_max_storage(max_storage, allocated):
    if max_storage is not None and max_storage <= allocated:
        raise AwsError('InvalidParameterCombination',
                       'Max storage size must be greater than storage size')
    if max_storage is not None and max_storage > 65536:
        raise _invalid('Invalid max storage size: %d. Maximum is 65536.' % max_storage)


@operation('DescribeDBInstances')
def describe_db_instances(ctx, p):
    limit = _limit(p)
    flt = _filters(p.get('Filters'), INSTANCE_FILTERS)
    items = list(ctx.store['instances'].values())
    if p.get('DBInstanceIdentifier'):
        inst = ctx.store['instances'].get(_ident(p['DBInstanceIdentifier']))
        if inst is None:
            raise _not_found(p['DBInstanceIdentifier'])
        items = [inst]
    if 'db-instance-id' in flt:
        items = [i for i in items if i['DBInstanceIdentifier'] in flt['db-instance-id']]
    if 'db-cluster-id' in flt:
        items = [i for i in items if i.get('DBClusterIdentifier') in flt['db-cluster-id']]
    if 'dbi-resource-id' in flt:
        items = [i for i in items if i['DbiResourceId'] in flt['dbi-resource-id']]
    if 'engine' in flt:
        items = [i for i in items if i['Engine'] in flt['engine']]
    if 'domain' in flt:
        items = []
    page, nxt = paginate(items, lambda i: i['DBInstanceIdentifier'], p.get('Marker'), limit,
                         'DescribeDBInstances', _bad_marker())
    return {'DBInstances': clone(page), 'Marker': nxt}


def _apply(inst, values):
    for k, v in values.items():
        if k == 'DBInstanceIdentifier':
            continue
        inst[k] = v


@operation('ModifyDBInstance')
def modify_db_instance(ctx, p):
    inst = ctx.store['instances'].get(_ident(p['DBInstanceIdentifier']))
    if inst is None:
        raise _not_found(p['DBInstanceIdentifier'])
    if inst['DBInstanceStatus'] != 'available':
        raise AwsError('InvalidDBInstanceState', 'Database instance is not in available state.')
    changes = {}
    if p.get('DBInstanceClass') and p['DBInstanceClass'] != inst['DBInstanceClass']:
        _check_class(p['DBInstanceClass'], inst['Engine'], inst['EngineVersion'],
                     inst['LicenseModel'])
        changes['DBInstanceClass'] = p['DBInstanceClass']
    if p.get('AllocatedStorage') is not None and p['AllocatedStorage'] != inst['AllocatedStorage']:
        if inst['Engine'].startswith('aurora'):
            raise AwsError('InvalidParameterCombination', 'You cannot modify the allocated storage '
                           'of a DB instance in a DB cluster.')
        if p['AllocatedStorage'] < inst['AllocatedStorage']:
            raise _invalid('Invalid storage size for engine name %s and storage type %s: %d. You '
                           'can\'t decrease the allocated storage.'
                           % (inst['Engine'], inst['StorageType'], p['AllocatedStorage']))
        changes['AllocatedStorage'] = p['AllocatedStorage']
    for k in ('MultiAZ', 'EngineVersion', 'StorageType', 'Iops', 'BackupRetentionPeriod'):
        if p.get(k) is not None and p[k] != inst.get(k):
            changes[k] = p[k]
    if p.get('MaxAllocatedStorage') is not None:
        storage = changes.get('AllocatedStorage', inst['AllocatedStorage'])
        if p['MaxAllocatedStorage'] == storage:
            inst.pop('MaxAllocatedStorage', None)   # equal to the allocated size turns it off
        else:
            _check_max_storage(p['MaxAllocatedStorage'], storage)
            inst['MaxAllocatedStorage'] = p['MaxAllocatedStorage']
    for k in ('PreferredMaintenanceWindow', 'PreferredBackupWindow', 'DeletionProtection',
              'AutoMinorVersionUpgrade', 'CopyTagsToSnapshot', 'PubliclyAccessible'):
        if p.get(k) is not None:
            inst[k] = p[k]
    pending = inst['PendingModifiedValues']
    pending.update(changes)
    if p.get('ApplyImmediately') and pending:
        inst['DBInstanceStatus'] = 'modifying'
        out = clone(inst)
        gen = inst['_gen'] = inst.get('_gen', 0) + 1

        def done():
            if inst.get('_gen') != gen:
                return
            _apply(inst, inst['PendingModifiedValues'])
            inst['PendingModifiedValues'] = {}
            inst['DBInstanceStatus'] = 'available'
        ctx.later('rds', done)
        return {'DBInstance': out}
    return {'DBInstance': clone(inst)}


def run_maintenance(sim, account, region, ident=None):
    """Applies pending modifications as a maintenance window would. Returns how many instances
    changed."""
    store = sim.state.store(_me(), account, region)
    n = 0
    for inst in store['instances'].values():
        if ident and inst['DBInstanceIdentifier'] != ident.lower():
            continue
        if inst['PendingModifiedValues'] and inst['DBInstanceStatus'] == 'available':
            _apply(inst, inst['PendingModifiedValues'])
            inst['PendingModifiedValues'] = {}
            n += 1
    return n


# ---- clusters --------------------------------------------------------------------------------

def create_cluster(ctx, store, p, status='creating'):
    ident = p['DBClusterIdentifier'].lower()
    engine = p['Engine']
    version, _, port, pgroup = ENGINES.get(engine, ENGINES['aurora-postgresql'])
    now = time.time()
    suffix = rand_id(12)
    cl = {'AllocatedStorage': 1, 'AvailabilityZones': [ctx.region + z for z in 'abc'],
          'BackupRetentionPeriod': p.get('BackupRetentionPeriod', 1),
          'DBClusterIdentifier': ident,
          'DBClusterParameterGroup': p.get('DBClusterParameterGroupName', pgroup),
          'Status': status, 'EarliestRestorableTime': now,
          'Endpoint': '%s.cluster-%s.%s.rds.amazonaws.com' % (ident, suffix, ctx.region),
          'ReaderEndpoint': '%s.cluster-ro-%s.%s.rds.amazonaws.com' % (ident, suffix, ctx.region),
          'MultiAZ': False, 'Engine': engine, 'EngineVersion': p.get('EngineVersion', version),
          'LatestRestorableTime': now, 'Port': p.get('Port', port),
          'MasterUsername': p.get('MasterUsername', 'postgres'),
          'PreferredBackupWindow': '03:00-03:30',
          'PreferredMaintenanceWindow': p.get('PreferredMaintenanceWindow', 'sun:05:00-sun:05:30'),
          'ReadReplicaIdentifiers': [], 'DBClusterMembers': [], 'VpcSecurityGroups': [],
          'HostedZoneId': 'Z2R2ITUGPM61AM', 'StorageEncrypted': p.get('StorageEncrypted', False),
          'DbClusterResourceId': 'cluster-' + rand_id(26).upper(),
          'DBClusterArn': 'arn:aws:rds:%s:%s:cluster:%s' % (ctx.region, ctx.account, ident),
          'AssociatedRoles': [], 'IAMDatabaseAuthenticationEnabled': False,
          'ClusterCreateTime': now, 'EngineMode': 'provisioned',
          'DeletionProtection': p.get('DeletionProtection', False), 'HttpEndpointEnabled': False,
          'CopyTagsToSnapshot': False, 'CrossAccountClone': False, 'DomainMemberships': [],
          'DBSubnetGroup': 'default', 'NetworkType': 'IPV4', 'AutoMinorVersionUpgrade': True,
          'StorageType': 'aurora' if engine.startswith('aurora') else 'gp3',
          'TagList': clone(p.get('Tags', [])), '_seq': ctx.seq()}
    store['clusters'][ident] = cl
    if status != 'available':
        def ready():
            if cl['Status'] == status:
                cl['Status'] = 'available'
        ctx.later('rds', ready)
    return cl


@operation('CreateDBCluster')
def create_db_cluster(ctx, p):
    _check_identifier('DBClusterIdentifier', p['DBClusterIdentifier'])
    if p['Engine'] not in ('aurora-postgresql', 'aurora-mysql', 'postgres', 'mysql'):
        raise _invalid('Invalid DB engine: %s' % p['Engine'])
    if p['DBClusterIdentifier'].lower() in ctx.store['clusters']:
        raise AwsError('DBClusterAlreadyExistsFault', 'DB Cluster already exists')
    if not p.get('MasterUsername') and not p.get('SnapshotIdentifier'):
        raise _invalid('The parameter MasterUsername must be provided and must not be blank.')
    if not p.get('MasterUserPassword') and not p.get('ManageMasterUserPassword'):
        raise _invalid('The parameter MasterUserPassword must be provided and must not be blank.')
    return {'DBCluster': clone(create_cluster(ctx, ctx.store, p))}


@operation('DescribeDBClusters')
def describe_db_clusters(ctx, p):
    limit = _limit(p)
    flt = _filters(p.get('Filters'), CLUSTER_FILTERS)
    items = list(ctx.store['clusters'].values())
    if p.get('DBClusterIdentifier'):
        cl = ctx.store['clusters'].get(_ident(p['DBClusterIdentifier']))
        if cl is None:
            raise _cluster_not_found(p['DBClusterIdentifier'])
        items = [cl]
    if 'db-cluster-id' in flt:
        items = [c for c in items if c['DBClusterIdentifier'] in flt['db-cluster-id']]
    if 'db-cluster-resource-id' in flt:
        items = [c for c in items if c['DbClusterResourceId'] in flt['db-cluster-resource-id']]
    if 'engine' in flt:
        items = [c for c in items if c['Engine'] in flt['engine']]
    if 'domain' in flt or 'clone-group-id' in flt:
        items = []
    page, nxt = paginate(items, lambda c: c['DBClusterIdentifier'], p.get('Marker'), limit,
                         'DescribeDBClusters', _bad_marker())
    return {'DBClusters': clone(page), 'Marker': nxt}


# ---- tags ----------------------------------------------------------------------------------

_ARN = re.compile(r'^arn:aws[a-z-]*:rds:([a-z0-9-]+):(\d{12}):(db|cluster):(.+)$')
MAX_TAGS = 50


def _tagged(ctx, arn):
    """The instance or cluster an ARN names (RDS answers for both kinds the same way)."""
    m = _ARN.match(arn or '')
    if m is None:
        raise _invalid('Invalid resource name: %s' % arn)
    kind, ident = m.group(3), m.group(4).lower()
    obj = ctx.store['instances' if kind == 'db' else 'clusters'].get(ident)
    if obj is None or m.group(1) != ctx.region or m.group(2) != ctx.account:
        if kind == 'db':
            raise _not_found(m.group(4))
        raise _cluster_not_found(m.group(4))
    return obj


@operation('AddTagsToResource')
def add_tags_to_resource(ctx, p):
    obj = _tagged(ctx, p['ResourceName'])
    tags = {t['Key']: t.get('Value', '') for t in obj['TagList']}
    for t in p['Tags']:
        if t.get('Key', '').startswith('aws:'):
            raise _invalid('Tag keys cannot start with "aws:"')
        tags[t['Key']] = t.get('Value', '')
    if len(tags) > MAX_TAGS:
        raise AwsError('TagQuotaPerResourceExceeded',
                       'The resource has reached the maximum number of tags (%d)' % MAX_TAGS)
    obj['TagList'] = [{'Key': k, 'Value': v} for k, v in tags.items()]
    return {}


@operation('RemoveTagsFromResource')
def remove_tags_from_resource(ctx, p):
    obj = _tagged(ctx, p['ResourceName'])
    gone = set(p['TagKeys'])
    obj['TagList'] = [t for t in obj['TagList'] if t['Key'] not in gone]
    return {}


@operation('ListTagsForResource')
def list_tags_for_resource(ctx, p):
    return {'TagList': clone(_tagged(ctx, p['ResourceName'])['TagList'])}


# ---- Application Auto Scaling: rds:cluster:ReadReplicaCount ---------------------------------

def _aas_cluster(ctx, m):
    return ctx.store_for(_me())['clusters'].get(m.group(1).lower())


def aas_check(ctx, dim, m):
    cl = _aas_cluster(ctx, m)
    if cl is None or not cl['Engine'].startswith('aurora'):
        raise AwsError('ValidationException', 'DB cluster doesn\'t exist: cluster:%s' % m.group(1))


def aas_get(ctx, dim, m):
    return sum(1 for x in _aas_cluster(ctx, m)['DBClusterMembers'] if not x['IsClusterWriter'])


def aas_set(ctx, dim, m, value):
    """Adds or removes Aurora Replicas; only replicas Application Auto Scaling added are removed,
    as AWS does."""
    store = ctx.store_for(_me())
    cl = _aas_cluster(ctx, m)
    readers = [x for x in cl['DBClusterMembers'] if not x['IsClusterWriter']]
    writer = next((store['instances'].get(x['DBInstanceIdentifier'])
                   for x in cl['DBClusterMembers'] if x['IsClusterWriter']), None)
    cls = writer['DBInstanceClass'] if writer else 'db.r6g.large'
    while len(readers) < value:
        ident = 'application-autoscaling-%s' % new_uuid()
        inst = create_instance(ctx, store, {'DBInstanceIdentifier': ident, 'DBInstanceClass': cls,
                                            'Engine': cl['Engine'],
                                            'DBClusterIdentifier': cl['DBClusterIdentifier']})
        _cluster_member_add(store, inst, False)
        readers.append(cl['DBClusterMembers'][-1])
    removable = [x for x in readers if x['DBInstanceIdentifier'].startswith('application-autoscaling-')]
    while len(readers) > value and removable:
        gone = removable.pop()
        readers.remove(gone)
        cl['DBClusterMembers'].remove(gone)
        store['instances'].pop(gone['DBInstanceIdentifier'], None)


def aas_describe(dim, m, value):
    return 'Setting read replica count to %d.' % value

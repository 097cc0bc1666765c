"""Amazon ElastiCache: replication groups (Redis OSS / Valkey), cluster mode on or off.

Application Auto Scaling changes the number of node groups (shards) or replicas per node group;
the group goes to "modifying" and back to "available" after the "elasticache" delay.
"""

import re
import sys
import time

from ..errors import AwsError
from ..util import check_limit, paginate
from . import clone, ops

SERVICE = 'elasticache'
OPS, operation = ops()

_IDENT = re.compile(r'^[a-z](?!.*--)[a-z0-9-]{0,39}(?<!-)$')


def new_store():
    return {'groups': {}}


def _me():
    return sys.modules[__name__]


def _invalid(msg):
    return AwsError('InvalidParameterValue', msg)


def _combo(msg):
    return AwsError('InvalidParameterCombination', msg)


def _not_found(ident):
    return AwsError('ReplicationGroupNotFoundFault', 'ReplicationGroup %s not found.' % ident)


def _layout(rg):
    """Rebuilds MemberClusters and NodeGroups from the group's shape (shards x replicas)."""
    rid = rg['ReplicationGroupId']
    shards, replicas = rg['_shards'], rg['_replicas']
    members, groups = [], []
    parts = rg['_region'].split('-')
    code = parts[0] + ''.join(x[:1] for x in parts[1:-1]) + parts[-1]
    host = '%s.%s.%s.cache.amazonaws.com' % (rid, rg['_suffix'], code)
    for s in range(1, shards + 1):
        nodes = []
        for n in range(1, replicas + 2):
            cid = ('%s-%04d-%03d' % (rid, s, n)) if rg['ClusterEnabled'] else ('%s-%03d' % (rid, n))
            members.append(cid)
            node = {'CacheClusterId': cid, 'CacheNodeId': '0001',
                    'PreferredAvailabilityZone': rg['_region'] + 'abc'[(n - 1) % 3]}
            if not rg['ClusterEnabled']:
                node['CurrentRole'] = 'primary' if n == 1 else 'replica'
                node['ReadEndpoint'] = {'Address': '%s.%s' % (cid, host), 'Port': 6379}
            nodes.append(node)
        ng = {'NodeGroupId': '%04d' % s, 'Status': rg['Status'] if rg['Status'] != 'modifying'
              else 'modifying', 'NodeGroupMembers': nodes}
        if rg['ClusterEnabled']:
            per = 16384 // shards
            lo = (s - 1) * per
            hi = 16383 if s == shards else lo + per - 1
            ng['Slots'] = '%d-%d' % (lo, hi)
        else:
            ng['PrimaryEndpoint'] = {'Address': 'master.%s' % host, 'Port': 6379}
            ng['ReaderEndpoint'] = {'Address': 'replica.%s' % host, 'Port': 6379}
        groups.append(ng)
    rg['MemberClusters'] = members
    rg['NodeGroups'] = groups
    if rg['ClusterEnabled']:
        rg['ConfigurationEndpoint'] = {'Address': 'clustercfg.%s' % host, 'Port': 6379}


def create_group(ctx, store, p, status='creating'):
    rid = p['ReplicationGroupId'].lower()
    pgroup = p.get('CacheParameterGroupName', '')
    cluster = (p.get('ClusterMode') == 'enabled' or pgroup.endswith('.cluster.on') or
               (p.get('NumNodeGroups') or 1) > 1)
    if p.get('NumCacheClusters') is not None:
        shards, replicas = 1, p['NumCacheClusters'] - 1
    else:
        shards = p.get('NumNodeGroups', 1)
        replicas = p.get('ReplicasPerNodeGroup', 0 if cluster else 1)
    failover = p.get('AutomaticFailoverEnabled', cluster)
    engine = p.get('Engine', 'redis')
    rg = {'ReplicationGroupId': rid, 'Description': p['ReplicationGroupDescription'],
          'Status': status, 'PendingModifiedValues': {},
          'AutomaticFailover': 'enabled' if failover else 'disabled',
          'MultiAZ': 'enabled' if p.get('MultiAZEnabled') else 'disabled',
          'SnapshotRetentionLimit': p.get('SnapshotRetentionLimit', 0),
          'SnapshotWindow': p.get('SnapshotWindow', '05:00-06:00'), 'ClusterEnabled': cluster,
          'CacheNodeType': p.get('CacheNodeType', 'cache.t4g.micro'), 'AuthTokenEnabled': False,
          'TransitEncryptionEnabled': p.get('TransitEncryptionEnabled', False),
          'AtRestEncryptionEnabled': p.get('AtRestEncryptionEnabled', False),
          'ARN': 'arn:aws:elasticache:%s:%s:replicationgroup:%s' % (ctx.region, ctx.account, rid),
          'LogDeliveryConfigurations': [], 'ReplicationGroupCreateTime': time.time(),
          'MemberClustersOutpostArns': [],
          'DataTiering': 'disabled', 'AutoMinorVersionUpgrade': p.get('AutoMinorVersionUpgrade', True),
          'NetworkType': p.get('NetworkType', 'ipv4'), 'IpDiscovery': p.get('IpDiscovery', 'ipv4'),
          'ClusterMode': 'enabled' if cluster else 'disabled', 'Engine': engine,
          '_shards': shards, '_replicas': replicas, '_region': ctx.region,
          '_suffix': rid[:6] + '1a', '_tags': clone(p.get('Tags', [])), '_seq': ctx.seq()}
    _layout(rg)
    store['groups'][rid] = rg
    if status != 'available':
        _settle_later(ctx, rg, status)
    return rg


def _settle_later(ctx, rg, status):
    gen = rg['_gen'] = rg.get('_gen', 0) + 1

    def ready():
        if rg.get('_gen') == gen and rg['Status'] == status:
            rg['Status'] = 'available'
            rg['PendingModifiedValues'] = {}
            _layout(rg)
    ctx.later('elasticache', ready)


@operation('CreateReplicationGroup')
def create_replication_group(ctx, p):
    rid = p['ReplicationGroupId']
    if not _IDENT.match(rid.lower()):
        raise _invalid('Invalid parameter value for ReplicationGroupId: %s. It must begin with a '
                       'letter, contain only ASCII letters, digits and hyphens, not end with a '
                       'hyphen or contain two consecutive hyphens, and be at most 40 characters.'
                       % rid)
    if rid.lower() in ctx.store['groups']:
        raise AwsError('ReplicationGroupAlreadyExists', 'Replication group %s already exists.' % rid)
    if p.get('NumCacheClusters') is not None and (p.get('NumNodeGroups') is not None or
                                                  p.get('ReplicasPerNodeGroup') is not None):
        raise _combo('NumCacheClusters cannot be combined with NumNodeGroups or ReplicasPerNodeGroup.')
    if p.get('NumCacheClusters') is not None and not 1 <= p['NumCacheClusters'] <= 6:
        raise _invalid('NumCacheClusters must be between 1 and 6.')
    if p.get('ReplicasPerNodeGroup') is not None and not 0 <= p['ReplicasPerNodeGroup'] <= 5:
        raise _invalid('ReplicasPerNodeGroup must be between 0 and 5.')
    if p.get('NumNodeGroups') is not None and not 1 <= p['NumNodeGroups'] <= 500:
        raise _invalid('NumNodeGroups must be between 1 and 500.')
    if p.get('Engine') not in (None, 'redis', 'valkey'):
        raise _invalid('Replication groups are only supported for the redis and valkey engines.')
    rg = create_group(ctx, ctx.store, p)
    nodes = len(rg['MemberClusters'])
    if p.get('AutomaticFailoverEnabled') and nodes < 2:
        del ctx.store['groups'][rg['ReplicationGroupId']]
        raise _combo('Automatic failover requires at least one read replica.')
    return {'ReplicationGroup': clone(rg)}


@operation('DescribeReplicationGroups')
def describe_replication_groups(ctx, p):
    limit = check_limit(p.get('MaxRecords'), 20, 100, 100,
                        _invalid('The parameter MaxRecords must be between 20 and 100.'))
    items = list(ctx.store['groups'].values())
    if p.get('ReplicationGroupId'):
        rg = ctx.store['groups'].get(p['ReplicationGroupId'].lower())
        if rg is None:
            raise _not_found(p['ReplicationGroupId'])
        items = [rg]
    page, nxt = paginate(items, lambda g: g['ReplicationGroupId'], p.get('Marker'), limit,
                         'DescribeReplicationGroups', _invalid('Invalid marker'))
    return {'ReplicationGroups': clone(page), 'Marker': nxt}


# ---- Application Auto Scaling: NodeGroups / Replicas ----------------------------------------

def _aas_group(ctx, m):
    return ctx.store_for(_me())['groups'].get(m.group(1).lower())


def aas_check(ctx, dim, m):
    rg = _aas_group(ctx, m)
    if rg is None:
        raise AwsError('ValidationException', 'Replication group doesn\'t exist: '
                       'replication-group/%s' % m.group(1))
    if dim.endswith('NodeGroups') and not rg['ClusterEnabled']:
        raise AwsError('ValidationException', 'Scaling the number of node groups requires a '
                       'replication group with cluster mode enabled')


def aas_get(ctx, dim, m):
    rg = _aas_group(ctx, m)
    return rg['_shards'] if dim.endswith('NodeGroups') else rg['_replicas']


def aas_set(ctx, dim, m, value):
    rg = _aas_group(ctx, m)
    if dim.endswith('NodeGroups'):
        rg['_shards'] = value
    else:
        rg['_replicas'] = value
    rg['Status'] = 'modifying'
    _layout(rg)
    _settle_later(ctx, rg, 'modifying')


def aas_describe(dim, m, value):
    if dim.endswith('NodeGroups'):
        return 'Setting node group count to %d.' % value
    return 'Setting replicas per node group to %d.' % value


# ---- IAM (sim/iam.py) -------------------------------------------------------------------------

def _iam_group(ctx, p):
    if not p.get('ReplicationGroupId'):
        return ['*']
    return ['arn:aws:elasticache:%s:%s:replicationgroup:%s' % (ctx.region, ctx.account,
                                                               p['ReplicationGroupId'])]


IAM_RESOURCES = {'DescribeReplicationGroups': _iam_group, 'CreateReplicationGroup': _iam_group}

#!/usr/bin/env python3
"""ScalingPolicies on CloudFront distributions end to end (SPEC §2 `cloudfront: {distributionId}`),
in directory mode against awssim: edge settings applied with GetDistribution /
UpdateDistribution and If-Match, every unmanaged field sent back exactly as read, Ready only once
Deployed, a 412 race with another writer, drift and Observe mode, faults, a missing distribution.

Usage: test_cloudfront.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]
"""

import copy
import threading

from e2e import check, describe, log, main, ops, reads, stop, wait_for, writes

MANAGED = ('PriceClass', 'HttpVersion')


def rich_config(ref):
    """A distribution with plenty trimtab does not manage: aliases, two origins (one with custom
    headers), a cache behavior, error responses, logging, a comment, geo restrictions."""
    return {
        'CallerReference': ref, 'Comment': 'assets for the shop', 'Enabled': True,
        'Aliases': {'Quantity': 1, 'Items': ['assets.example.com']},
        'DefaultRootObject': 'index.html', 'PriceClass': 'PriceClass_All', 'HttpVersion': 'http2',
        'IsIPV6Enabled': True,
        'Origins': {'Quantity': 2, 'Items': [
            {'Id': 'web', 'DomainName': 'web.example.com', 'OriginPath': '/static',
             'CustomHeaders': {'Quantity': 1, 'Items': [{'HeaderName': 'X-Origin-Key',
                                                         'HeaderValue': 'k1'}]},
             'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443,
                                    'OriginProtocolPolicy': 'https-only',
                                    'OriginSslProtocols': {'Quantity': 1, 'Items': ['TLSv1.2']},
                                    'OriginReadTimeout': 45},
             'ConnectionAttempts': 2},
            {'Id': 'media', 'DomainName': 'media.example.com',
             'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443,
                                    'OriginProtocolPolicy': 'match-viewer'}}]},
        'DefaultCacheBehavior': {'TargetOriginId': 'web', 'ViewerProtocolPolicy':
                                 'redirect-to-https', 'Compress': False,
                                 'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'},
        'CacheBehaviors': {'Quantity': 1, 'Items': [
            {'PathPattern': '/media/*', 'TargetOriginId': 'media',
             'ViewerProtocolPolicy': 'https-only', 'Compress': False,
             'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}]},
        'CustomErrorResponses': {'Quantity': 1, 'Items': [
            {'ErrorCode': 404, 'ResponsePagePath': '/404.html', 'ResponseCode': '404',
             'ErrorCachingMinTTL': 60}]},
        'Logging': {'Enabled': True, 'IncludeCookies': False,
                    'Bucket': 'logs.s3.amazonaws.com', 'Prefix': 'cdn/'},
        'Restrictions': {'GeoRestriction': {'RestrictionType': 'blacklist', 'Quantity': 1,
                                            'Items': ['KP']}},
    }


def policy(name, dist, mode=None, price='PriceClass_200', shield=True, http3=True,
           compress=True):
    lines = ['apiVersion: trimtab.dev/v1alpha1', 'kind: ScalingPolicy',
             'metadata: {name: %s, namespace: shop}' % name, 'spec:',
             '  target: {cloudfront: {distributionId: %s}}' % dist]
    if mode:
        lines.append('  mode: %s' % mode)
    lines.append('  cloudfront:')
    if price:
        lines.append('    priceClass: %s' % price)
    if shield:
        lines.append('    originShield: {enabled: true, region: eu-central-1}')
    lines += ['    http3: %s' % ('true' if http3 else 'false'),
              '    compress: %s' % ('true' if compress else 'false')]
    return '\n'.join(lines) + '\n'


def create(c, ref='assets'):
    cf = c.sim.client('cloudfront', 'us-east-1')
    d = cf.create_distribution(DistributionConfig=rich_config(ref))['Distribution']
    c.sim.settle()
    return cf, d['Id']


def config(cf, did):
    return cf.get_distribution_config(Id=did)['DistributionConfig']


def expected(before, price='PriceClass_200', region='eu-central-1', http='http2and3',
             compress=True):
    want = copy.deepcopy(before)
    want['PriceClass'] = price
    want['HttpVersion'] = http
    for o in want['Origins']['Items']:
        o['OriginShield'] = {'Enabled': True, 'OriginShieldRegion': region}
    want['DefaultCacheBehavior']['Compress'] = compress
    return want


def diff_paths(a, b, path=''):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff_paths(a.get(k), b.get(k), path + '.' + k)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in diff_paths(x, y, '%s[%d]'
                                                                            % (path, i))]
    return [] if a == b else ['%s: %r != %r' % (path, a, b)]


# ---- cases ---------------------------------------------------------------------------------

def case_cf_create_noop(c):
    """The edge settings in one UpdateDistribution, under a throttle; every field trimtab does
    not manage comes back exactly as it was; Ready once Deployed; the no-op is one read."""
    c.sim.delays(cloudfront=0)
    cf, did = create(c)
    before = config(cf, did)
    c.write('cf/assets.yaml', policy('assets', did))
    c.sim.fault(kind='throttle', service='cloudfront', operation='GetDistribution', count=1)
    p, calls = c.run_once(expect_rc=0)
    ok_writes = [x for x in writes(calls) if x['status'] == 200]
    check([x['operation'] for x in ok_writes] == ['UpdateDistribution'], 'writes',
          ops(calls, 'write'))
    after = config(cf, did)
    bad = diff_paths(expected(before), after)
    check(not bad, 'the config after differs from the one read beyond the managed fields', *bad)
    c.expect_condition('assets', 'Ready', 'True', 'Converged')
    st = c.record('assets')['status']
    check(st.get('distributionStatus') == 'Deployed' and st.get('priceClass') ==
          'PriceClass_200', 'status', st)
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run wrote', ops(calls, 'write'))
    check(ops(calls) == ['GetDistribution'], 'no-op reads: %s, expected one GetDistribution'
          % ops(calls))
    log('  no-op run: 0 writes, %d read, %.2fs' % (len(reads(calls)), p.seconds))
    c.plan(expect_rc=0)


def case_cf_deploying(c):
    """While the distribution is InProgress the resource is not Ready (Deploying) and is looked
    at again; once Deployed it is."""
    c.sim.delays(cloudfront=0)
    cf, did = create(c)
    c.sim.delays(cloudfront=3.0)
    c.write('cf/assets.yaml', policy('assets', did))
    p, _ = c.run_once()
    check(p.returncode == 1, 'run --once with the distribution InProgress exited %d, expected 1'
          % p.returncode, describe(p))
    c.expect_condition('assets', 'Ready', 'False', 'Deploying')
    proc = c.start()
    wait_for(lambda: (c.condition('assets') or {}).get('reason') == 'Converged', 40,
             'Ready once Deployed')
    stop(proc)


def case_cf_412_race(c):
    """Another writer changes the distribution between trimtab's read and its UpdateDistribution:
    CloudFront answers 412, trimtab reads again and applies on top of the other change — never
    a blind overwrite."""
    c.sim.delays(cloudfront=0)
    cf, did = create(c)
    c.write('cf/assets.yaml', policy('assets', did))
    c.sim.fault(kind='latency', latencyMs=1500, service='cloudfront',
                operation='UpdateDistribution', count=1)
    c.sim.reset_calls()

    def other_writer():
        # trimtab's update is held by the latency fault (which it used up), its ETag already
        # read: the other write lands between trimtab's read and its update, whatever the pace.
        wait_for(lambda: c.sim.inflight(operation='UpdateDistribution'), 10,
                 'trimtab\'s update in flight')
        got = cf.get_distribution_config(Id=did)
        cfg = got['DistributionConfig']
        cfg['Comment'] = 'changed by someone else'
        cf.update_distribution(Id=did, IfMatch=got['ETag'], DistributionConfig=cfg)

    t = threading.Thread(target=other_writer)
    t.start()
    p, _ = c.run_once(expect_rc=0, reset_calls=False)
    t.join()
    calls = c.sim.calls()
    updates = [x for x in calls if x['operation'] == 'UpdateDistribution']
    check(any(x['status'] == 412 and x['code'] == 'PreconditionFailed' for x in updates),
          'no 412 from trimtab\'s stale update', updates)
    after = config(cf, did)
    check(after['Comment'] == 'changed by someone else', 'the other writer\'s change was '
          'overwritten', after['Comment'])
    check(after['PriceClass'] == 'PriceClass_200' and after['HttpVersion'] == 'http2and3',
          'trimtab\'s change is missing after the retry', after)
    c.expect_condition('assets', 'Ready', 'True', 'Converged')


def case_cf_drift_observe(c):
    """Drift by hand: Observe mode reports it and writes nothing; plan shows it; Manage fixes
    only that."""
    c.sim.delays(cloudfront=0)
    cf, did = create(c)
    c.write('cf/assets.yaml', policy('assets', did))
    c.run_once(expect_rc=0)
    got = cf.get_distribution_config(Id=did)
    cfg = got['DistributionConfig']
    cfg['PriceClass'] = 'PriceClass_All'
    cfg['DefaultCacheBehavior']['Compress'] = False
    cf.update_distribution(Id=did, IfMatch=got['ETag'], DistributionConfig=cfg)
    c.sim.settle()
    c.write('cf/assets.yaml', policy('assets', did, mode='Observe'))
    p, calls = c.run_once()
    check(not writes(calls), 'Observe mode wrote', ops(calls, 'write'))
    c.expect_condition('assets', 'Drifted', 'True', 'DriftDetected')
    c.write('cf/assets.yaml', policy('assets', did))
    p = c.plan(expect_rc=2)
    check('priceClass: "PriceClass_All" → "PriceClass_200"' in p.stdout and
          'compress: false → true' in p.stdout, 'plan does not show the drift', p.stdout)
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['UpdateDistribution'], 'correction', ops(calls, 'write'))
    c.plan(expect_rc=0)


def case_cf_missing(c):
    """A distribution that does not exist: the resource says so, others are not held up."""
    c.sim.delays(cloudfront=0)
    cf, did = create(c)
    c.write('cf/assets.yaml', policy('assets', did))
    c.write('cf/ghost.yaml', policy('ghost', 'E000000000000X'))
    p, _ = c.run_once()
    check(p.returncode == 1, 'exit %d, expected 1' % p.returncode)
    c.expect_condition('ghost', 'Ready', 'False')
    check('NoSuchDistribution' in c.condition('ghost')['message'], 'message does not say why',
          c.condition('ghost'))
    c.expect_condition('assets', 'Ready', 'True', 'Converged')


BUDGET = '''apiVersion: trimtab.dev/v1alpha1
kind: Budget
metadata: {name: platform, namespace: shop}
spec:
  limit: {amount: 60, unit: USD}
  notifications:
    - {type: ACTUAL, threshold: 80, subscribers: [{email: platform@example.com}]}
'''


def case_cf_budget_guard(c):
    """The budget guard on a distribution: while the Budget's spend is above 80 %, the price
    class is clamped to PriceClass_100 (BudgetClamped, a BudgetExceeded event); when spend falls
    back, the spec's PriceClass_All returns (a WithinBudget event). Nothing else changes."""
    c.sim.delays(cloudfront=0)
    cf, did = create(c)
    c.write('budgets/platform.yaml', BUDGET)
    c.write('cf/assets.yaml', policy('assets', did, price='PriceClass_All') +
            '  budgetGuard:\n    - {budget: platform, abovePercent: 80, '
            'priceClass: PriceClass_100}\n')
    c.run_once(expect_rc=0)
    check(config(cf, did)['PriceClass'] == 'PriceClass_All', 'unclamped price class')
    before = config(cf, did)

    c.sim.control('POST', 'budgets/spend', {'budget': 'trimtab-shop-platform', 'actual': '54'})
    p, calls = c.run_once(expect_rc=0)
    check([x['operation'] for x in writes(calls)] == ['UpdateDistribution'], 'clamp writes',
          ops(calls, 'write'))
    after = config(cf, did)
    check(after['PriceClass'] == 'PriceClass_100', 'clamped price class', after['PriceClass'])
    bad = diff_paths(dict(before, PriceClass='PriceClass_100'), after)
    check(not bad, 'the clamp changed more than the price class', *bad)
    cond = c.expect_condition('assets', 'BudgetClamped', 'True', 'BudgetExceeded')
    check('platform at 90%' in cond['message'], 'clamp condition', cond)
    check(len(c.events('assets', 'BudgetExceeded')) == 1, 'one BudgetExceeded event')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'a clamped distribution is in sync', ops(calls, 'write'))

    c.sim.control('POST', 'budgets/spend', {'budget': 'trimtab-shop-platform', 'actual': '30'})
    p, calls = c.run_once(expect_rc=0)
    check(config(cf, did)['PriceClass'] == 'PriceClass_All', 'restored price class',
          config(cf, did)['PriceClass'])
    c.expect_condition('assets', 'BudgetClamped', 'False')
    check(len(c.events('assets', 'WithinBudget')) == 1, 'one WithinBudget event')
    c.expect_condition('assets', 'Ready', 'True', 'Converged')


CASES = {
    'cf_budget_guard': case_cf_budget_guard,
    'cf_create_noop': case_cf_create_noop,
    'cf_deploying': case_cf_deploying,
    'cf_412_race': case_cf_412_race,
    'cf_drift_observe': case_cf_drift_observe,
    'cf_missing': case_cf_missing,
}

if __name__ == '__main__':
    import sys
    sys.exit(main(CASES, sys.argv[1:]))

#!/usr/bin/env python3
"""ScalingPolicies on Lambda (spec.target.lambda) end to end against awssim: the shared target
cases (targets.py) on provisioned concurrency of an alias, and Lambda's own — the reserved
concurrency cap (set, drift corrected, someone else's refused, removed on deletion only when
trimtab set it), a cap-only policy on a function, provisioned concurrency in status.

Usage: test_lambda.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]
"""

import sys

from e2e import NS, REGION, check, describe, expect_ready, main, ops, to_yaml, writes
from targets import Target, cases, policy

FUNCTIONS = ['alpha', 'beta', 'gamma', 'delta']


class Lambda(Target):
    kind = 'lambda'
    ns = 'lambda'
    dim = 'lambda:function:ProvisionedConcurrency'
    metric = 'LambdaProvisionedConcurrencyUtilization'
    fault_service = 'lambda'
    own_reads = ('GetProvisionedConcurrencyConfig', 'GetFunctionConcurrency')
    create_extra = ('PutFunctionConcurrency',)
    remove_extra = ('DeleteProvisionedConcurrencyConfig', 'DeleteFunctionConcurrency')
    fixtures = {'region': REGION, 'lambda': {'functions': [
        {'name': n, 'publishedVersions': 2, 'aliases': [{'name': 'live', 'version': '2'}]}
        for n in FUNCTIONS]}}

    def spec_target(self, obj):
        return {'lambda': {'function': obj, 'alias': 'live'}}

    def rid(self, obj):
        return 'function:%s:live' % obj

    def spec_extra(self, name):
        return {'lambda': {'reservedConcurrency': 10}}

    def check_status(self, c, name, status):
        check(status.get('reservedConcurrency') == 10 and status.get('desiredCapacity') == 1,
              '%s: reserved/provisioned concurrency missing from status' % name, status)


T = Lambda()


def cap_only(name, function, reserved):
    return to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy',
                    'metadata': {'name': name, 'namespace': NS},
                    'spec': {'target': {'lambda': {'function': function}},
                             'lambda': {'reservedConcurrency': reserved}}})


def case_cap(c):
    """The reserved concurrency cap: set, corrected when changed by hand, refused when someone
    else set it (unless adopted), removed on deletion only when trimtab set it."""
    lam = c.client('lambda')
    c.write('alpha.yaml', policy(T, 'alpha'))
    c.write('gamma.yaml', cap_only('gamma', 'gamma', 25))
    p, calls = c.run_once(expect_rc=0)
    check(lam.get_function_concurrency(FunctionName='gamma')['ReservedConcurrentExecutions'] == 25,
          'cap-only policy did not set the cap')
    check(ops(calls, 'write').index('PutFunctionConcurrency') <
          ops(calls, 'write').index('RegisterScalableTarget'), 'the cap must come first',
          ops(calls, 'write'))
    lam.put_function_concurrency(FunctionName='alpha', ReservedConcurrentExecutions=200)
    p = c.plan(expect_rc=2)
    check('reservedConcurrency: 200 → 10' in p.stdout, 'plan does not show the cap drift',
          p.stdout)
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['PutFunctionConcurrency'], 'correction wrote %s'
          % ops(calls, 'write'))
    # Provisioned concurrency settles: status follows.
    c.sim.settle()
    p, calls = c.run_once(expect_rc=0)
    st = c.record('alpha')['status']
    check(st.get('provisionedConcurrencyStatus') == 'READY' and st['currentCapacity'] == 1,
          'status does not show the allocated provisioned concurrency', st)

    # Someone else's cap: refused, then adopted.
    lam.put_function_concurrency(FunctionName='delta', ReservedConcurrentExecutions=40)
    c.write('delta.yaml', cap_only('delta', 'delta', 30))
    p, calls = c.run_once()
    check(p.returncode == 1 and not writes(calls), 'someone else\'s cap was written',
          describe(p))
    cond = c.expect_condition('delta', 'Ready', 'False', 'AdoptionRefused')
    check('reserved concurrency 40 of Lambda function delta' in cond['message'],
          'message unclear', cond)
    c.write('delta.yaml', cap_only('delta', 'delta', 30).replace('spec:\n', 'spec:\n  adopt: '
                                                                           'true\n'))
    c.run_once(expect_rc=0)
    check(lam.get_function_concurrency(FunctionName='delta')['ReservedConcurrentExecutions'] == 30,
          'adopted cap not set')

    # Deletion: alpha's scaling, provisioned concurrency and cap go; Retain keeps gamma's.
    c.write('gamma.yaml', cap_only('gamma', 'gamma', 25).replace('spec:\n', 'spec:\n  '
                                                                 'deletionPolicy: Retain\n'))
    c.run_once(expect_rc=0)
    c.remove('alpha.yaml')
    c.remove('gamma.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(sorted(ops(calls, 'write')) == sorted(['DeleteScalingPolicy', 'DeleteScheduledAction',
                                                 'DeregisterScalableTarget',
                                                 'DeleteProvisionedConcurrencyConfig',
                                                 'DeleteFunctionConcurrency']),
          'deletion wrote %s' % ops(calls, 'write'))
    check('ReservedConcurrentExecutions' not in lam.get_function_concurrency(FunctionName='alpha'),
          'alpha keeps its cap')
    check(not lam.list_provisioned_concurrency_configs(FunctionName='alpha')
          ['ProvisionedConcurrencyConfigs'], 'alpha keeps provisioned concurrency')
    check(lam.get_function_concurrency(FunctionName='gamma')['ReservedConcurrentExecutions'] == 25,
          'Retain: gamma lost its cap')
    expect_ready(c, 'delta')


def case_missing_alias(c):
    """An alias that does not exist is TargetNotFound, with no write, beside one that works."""
    c.write('alpha.yaml', policy(T, 'alpha'))
    c.write('nope.yaml', policy(T, 'nope', obj='beta').replace('alias: live', 'alias: canary'))
    p, calls = c.run_once()
    check(p.returncode == 1, 'exit %d, expected 1' % p.returncode, describe(p))
    expect_ready(c, 'alpha')
    cond = c.expect_condition('nope', 'Ready', 'False', 'TargetNotFound')
    check('alias canary' in cond['message'], 'message unclear', cond)


if __name__ == '__main__':
    sys.exit(main(cases(T, {'lambda_cap': case_cap, 'lambda_missing_alias': case_missing_alias}),
                  sys.argv[1:], fixtures=T.fixtures))

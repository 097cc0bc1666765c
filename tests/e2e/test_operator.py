#!/usr/bin/env python3
"""The operator end to end, whatever the kind, in directory mode against awssim (SPEC §4, §6,
§8): invalid manifests, AWS faults, kill -9, a running operator, status and plan, the
reconcile-requested-at annotation. ECS ScalingPolicies are the vehicle.

Usage: test_operator.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]

Every case starts its own simulator, writes manifests into its own temporary directory and runs
the real binary; it then checks the simulator's call log, the state records and events.jsonl,
and AWS itself (read back with boto3). e2e.py has the harness and the shared manifests.
"""

import os
import re
import shutil
import sys
import time
import urllib.request

from e2e import (BROKEN, CREATE_SIX, REGION, SIX, TARGET_DIM, WEB, WORKER, aws_name, check, Config,
                 created_once, created_once_or_adopted, describe, expect_objects, expect_ready,
                 expect_six, kill_when, log, main, ops, percentile, rid, run_under_faults, scheduled, simple,
                 simple_expect, stop, successful_writes, table, to_yaml, tracking, wait_for, web,
                 worker, write_six, writes)


# ---- cases ---------------------------------------------------------------------------------

def case_invalid(c):
    """An invalid manifest beside valid ones: the valid ones converge; the invalid one gets
    Ready=False, reason InvalidSpec, with the file:line message; fixing it converges it."""
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    bad = c.write('ecs/broken.yaml', BROKEN)
    c.write('ecs/typo.yaml', simple('typo', service='batch').replace('minCapacity',
                                                                     'minCapacty'))
    p, calls = c.run_once()
    check(p.returncode == 1, 'run --once with an invalid resource exited %d, expected 1'
          % p.returncode, describe(p))
    expect_objects(c.aws(), {'web': WEB, 'worker': WORKER})
    expect_ready(c, 'web', 'worker')
    cond = c.expect_condition('broken', 'Ready', 'False', 'InvalidSpec')
    want = '%s:16: spec.targetTracking[0].targetValue: expected a number' % bad
    check(want in cond['message'], 'InvalidSpec message lacks "%s"' % want, cond['message'])
    c.expect_condition('broken', 'Synced', 'False', 'InvalidSpec')
    ev = c.events('broken', 'InvalidSpec')
    check(len(ev) == 1 and ev[0]['type'] == 'Warning' and want in ev[0]['message'],
          'no InvalidSpec event with the message', c.events('broken'))
    cond = c.expect_condition('typo', 'Ready', 'False', 'InvalidSpec')
    check(re.search(r'typo\.yaml:\d+: spec\.minCapacty: unknown field', cond['message']),
          'unknown field message wrong', cond['message'])
    check(want in p.stderr, 'the log does not show the problem', p.stderr)
    # plan: exit 1 (an invalid resource), the valid ones in sync.
    p = c.plan(expect_rc=1)
    # Fixed: converges; nothing else touched.
    c.write('ecs/broken.yaml', BROKEN.replace('lots', '65'))
    c.write('ecs/typo.yaml', simple('typo', service='batch'))
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == sorted(['RegisterScalableTarget', 'PutScalingPolicy'] *
                                                2), 'fixing made writes %s' % ops(calls, 'write'))
    expect_ready(c, 'broken', 'typo', 'web', 'worker')
    rec = c.record('broken')
    check(rec['metadata']['generation'] == 2, 'generation of the fixed resource not 2',
          rec['metadata'])


def case_faults(c):
    """Throttling, 5xx and dropped connections injected: trimtab retries, converges, creates
    nothing twice, and says why while it cannot."""
    write_six(c)
    sim = c.sim
    # 1. Transient faults on every kind of call, fewer than the retry budget.
    faults = [sim.fault(kind='throttle', service='application-autoscaling',
                        operation='RegisterScalableTarget', count=3),
              sim.fault(kind='error', status=500, service='application-autoscaling',
                        operation='PutScalingPolicy', count=3),
              sim.fault(kind='error', status=503, code='ServiceUnavailable', service='ecs',
                        operation='DescribeServices', count=1),
              sim.fault(kind='reset', service='application-autoscaling',
                        operation='PutScheduledAction', count=2),
              sim.fault(kind='reset', service='application-autoscaling',
                        operation='DescribeScalableTargets', count=1),
              sim.fault(kind='throttle', service='application-autoscaling',
                        operation='DescribeScalingPolicies', count=1)]
    p, calls = run_under_faults(c, faults)
    check(successful_writes(calls) == CREATE_SIX, 'successful writes under faults: %s, expected '
          '%s (each object written exactly once)' % (successful_writes(calls), CREATE_SIX))
    expect_six(c)
    created_once(c)
    sim.clear_faults()
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run after faults wrote', ops(calls, 'write'))

    # 1b. A failure the AWS client gives up on (one attempt) but the engine's retry cures:
    #     converged, so run --once exits 0.
    c.write('ecs/cart.yaml', simple('cart'))
    sim.fault(kind='throttle', service='application-autoscaling', operation='PutScalingPolicy',
              count=2)
    p, calls = c.run_once(env=c.env(AWS_MAX_ATTEMPTS='1'))
    check(p.returncode == 0, 'a failure cured by the engine\'s retry: exit %d, expected 0'
          % p.returncode, describe(p))
    expect_ready(c, 'cart')
    c.remove('ecs/cart.yaml')
    c.run_once('--prune', expect_rc=0)
    sim.clear_faults()

    # 2. Throttled for longer than the retries: Ready=False AwsThrottled, no status lost; once
    #    the fault clears, only what was missing is done.
    c.write('ecs/web.yaml', web(max_capacity=11, tracking_=[
        tracking('cpu', target=70, scaleOutCooldown='60s', scaleInCooldown='5m'),
        tracking('memory', 'ECSServiceAverageMemoryUtilization', 85)]))
    # One attempt per call (AWS_MAX_ATTEMPTS=1) so that giving up takes no backoff time.
    quick = c.env(AWS_MAX_ATTEMPTS='1')
    sim.fault(kind='throttle', service='application-autoscaling', operation='PutScalingPolicy')
    p, calls = c.run_once(timeout=120, env=quick)
    log('  persistent throttle: %.1fs, %d calls' % (p.seconds, len(calls)))
    check(p.returncode == 1, 'run with a persistent throttle exited %d, expected 1'
          % p.returncode, describe(p))
    cond = c.expect_condition('web', 'Ready', 'False', 'AwsThrottled')
    check('PutScalingPolicy' in cond['message'] or 'scaling policy' in cond['message'],
          'AwsThrottled message does not say which call', cond['message'])
    c.expect_condition('web', 'Synced', 'False', 'AwsThrottled')
    check(c.events('web', 'AwsThrottled'), 'no AwsThrottled event', c.events('web'))
    check(c.aws()['targets'][rid('web')]['MaxCapacity'] == 11,
          'the call before the throttled one was not applied')
    # 3. The service answers 5xx on every read: AwsUnavailable.
    sim.clear_faults()
    sim.fault(kind='error', status=503, code='ServiceUnavailable', service='ecs')
    p, calls = c.run_once(timeout=120, env=quick)
    log('  ECS unavailable: %.1fs, %d calls' % (p.seconds, len(calls)))
    check(p.returncode == 1, 'run with ECS unavailable exited %d, expected 1' % p.returncode)
    c.expect_condition('worker', 'Ready', 'False', 'AwsUnavailable')
    sim.clear_faults()
    p, calls = c.run_once(expect_rc=0)
    check(successful_writes(calls) == {'PutScalingPolicy': 1},
          'after the faults cleared: %s, expected the one missing PutScalingPolicy'
          % successful_writes(calls))
    expect_ready(c, *SIX)

    # 4. Random faults of every kind on 30 % of Application Auto Scaling calls while six
    #    resources are deleted and created again.
    for n in SIX:
        c.remove('ecs/%s.yaml' % n)
    c.run_once('--prune', expect_rc=0)
    check(not c.aws()['targets'], 'pruning left targets')
    write_six(c)
    for kind in ('throttle', 'error', 'reset'):
        sim.fault(kind=kind, service='application-autoscaling', rate=0.1)
    sim.fault(kind='error', status=502, service='ecs', rate=0.2)
    sim.reset_calls()
    for attempt in range(1, 9):
        p, _ = c.run_once(timeout=120, reset_calls=False)
        if p.returncode == 0:
            break
    calls = sim.calls()
    fired = sum(f['fired'] for f in sim.control('GET', 'faults')['faults'])
    log('  random faults: %d fired over %d calls, converged after %d run(s)'
        % (fired, len(calls), attempt))
    check(p.returncode == 0, 'did not converge under random faults in 8 runs', describe(p))
    check(successful_writes(calls) == CREATE_SIX, 'successful writes under random faults: %s, '
          'expected %s' % (successful_writes(calls), CREATE_SIX))
    sim.clear_faults()
    expect_six(c)
    c.plan(expect_rc=0)


def case_kill9(c):
    """kill -9 while AWS calls are in flight, then a restart: converges, nothing duplicated,
    nothing orphaned, state records intact."""
    write_six(c)
    sim = c.sim
    sim.fault(kind='latency', latencyMs=300, service='application-autoscaling',
              operation='PutScalingPolicy')
    sim.fault(kind='latency', latencyMs=300, service='application-autoscaling',
              operation='PutScheduledAction')
    sim.reset_calls()
    proc = c.start('--once', '--concurrency', '2')
    kill_when(proc, lambda: sum(successful_writes(sim.calls()).values()) >= 3,
              'three writes before the kill')
    done = successful_writes(sim.calls())
    log('  killed after %s' % done)
    check(sum(done.values()) < 15, 'everything was done before the kill')
    time.sleep(0.7)  # calls the dead process had in flight complete in AWS all the same
    sim.clear_faults()
    leftovers = [f for d, _, fs in os.walk(c.state) for f in fs
                 if not (f.endswith('.json') or f in ('events.jsonl', 'lock'))]
    check(not leftovers or all(f.startswith('.') for f in leftovers),
          'unexpected files in the state directory after kill -9', leftovers)
    p, calls = c.run_once(expect_rc=0)
    expect_six(c)
    temps = [f for d, _, fs in os.walk(c.state) for f in fs if '.tmp.' in f]
    check(not temps, 'the restart should sweep the killed run\'s temporary files', temps)
    created_once_or_adopted(c)
    c.plan(expect_rc=0)

    # The spec changes while trimtab is down after a kill in the middle of applying the old
    # one: what the killed run created and the new spec no longer wants must not be left behind.
    sim.fault(kind='latency', latencyMs=1500, service='application-autoscaling',
              operation='PutScheduledAction')
    c.write('ecs/web.yaml', web(tracking_=[
        tracking('cpu', target=70, scaleOutCooldown='60s', scaleInCooldown='5m'),
        tracking('memory', 'ECSServiceAverageMemoryUtilization', 80),
        tracking('extra', 'ECSServiceAverageMemoryUtilization', 90)], sched=[
        scheduled('business-hours', lo=4, hi=10),
        scheduled('after-hours', '0 18 * * MON-FRI', lo=2, hi=10),
        scheduled('extra-hours', '0 20 * * MON-FRI', lo=2, hi=10)]))
    sim.reset_calls()
    proc = c.start('--once')
    # The call log lists a call once answered: the held PutScheduledAction shows in flight.
    wait_for(lambda: (successful_writes(sim.calls()).get('PutScalingPolicy', 0) >= 1 and
                      sim.inflight(operation='PutScheduledAction')) or
             proc.poll() is not None, 30, 'the new policy, the scheduled action in flight')
    check(proc.poll() is None, 'trimtab finished before it could be killed')
    proc.kill()
    proc.wait()
    wait_for(lambda: not sim.inflight(), 10, 'the dead process\'s held PutScheduledAction to '
             'complete in AWS')
    sim.clear_faults()
    made = sorted(k[1] for k in list(c.aws()['policies']) + list(c.aws()['scheduled'])
                  if 'extra' in k[1])
    log('  killed after creating %s' % made)
    check(len(made) == 2, 'the killed run should have created both extras', made)
    c.write('ecs/web.yaml', web())
    p, calls = c.run_once(expect_rc=0)
    expect_six(c)
    c.plan(expect_rc=0)

    # Killed while creating a new resource, whose manifest is then deleted: --prune must still
    # find and delete what the killed run created.
    sim.fault(kind='latency', latencyMs=1500, service='application-autoscaling',
              operation='PutScalingPolicy')
    c.write('ecs/cart.yaml', simple('cart'))
    sim.reset_calls()
    proc = c.start('--once')
    wait_for(lambda: sim.inflight(operation='PutScalingPolicy') or proc.poll() is not None, 30,
             'the cart policy in flight')
    check(proc.poll() is None, 'trimtab finished before it could be killed')
    proc.kill()
    proc.wait()
    wait_for(lambda: not sim.inflight(), 10, 'the dead process\'s held PutScalingPolicy to '
             'complete in AWS')
    sim.clear_faults()
    check(rid('cart') in c.aws()['targets'] and (rid('cart'), aws_name('cart', 'cpu')) in
          c.aws()['policies'], 'the killed run should have created the cart target and policy')
    c.remove('ecs/cart.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    expect_six(c)
    check(c.record('cart') is None, 'cart still has a record')


def case_live(c):
    """A long-running `trimtab run` on a git-sync style checkout (a symlink to the current
    revision): manifest edits, new and deleted files and a symlink swap are noticed at once
    (edit -> first AWS call latencies printed), a resync corrects drift, SIGTERM exits 0."""
    sim = c.sim
    repo = os.path.join(c.tmp, 'repo')
    rev1 = os.path.join(repo, 'rev-1')
    os.makedirs(rev1)
    current = os.path.join(repo, 'current')
    os.symlink('rev-1', current)
    c.write('ecs/web.yaml', web(), root=rev1)
    c.write('ecs/worker.yaml', worker(), root=rev1)
    proc = c.start('--resync', '10m', source=current)

    def converged(name, gen):
        rec = c.record(name)
        if rec is None or rec['metadata']['generation'] != gen:
            return False
        for cond in rec['status'].get('conditions', []):
            if cond['type'] == 'Ready':
                return cond['status'] == 'True' and cond['observedGeneration'] == gen
        return False

    wait_for(lambda: converged('web', 1) and converged('worker', 1), 20, 'the first reconcile')
    expect_objects(c.aws(), {'web': WEB, 'worker': WORKER})

    first_call, first_write = [], []

    def change(label, action, expect, timeout=10):
        """Runs action(), waits for expect(), returns the latencies to trimtab's first call
        and first write (from the simulator's call log)."""
        t0 = time.time()
        action()
        wait_for(expect, timeout, label)
        calls = sim.calls(since=t0)
        w = [x for x in calls if x['kind'] == 'write']
        check(w, '%s: no write call' % label)
        a, b = (calls[0]['time'] - t0) * 1000, (w[0]['time'] - t0) * 1000
        log('  %-34s first AWS call %6.1f ms, first write %6.1f ms' % (label, a, b))
        return a, b

    # Edits by rename (what editors and git do) and in place (truncate + write).
    for i, maxc in enumerate((11, 12, 13, 14, 15, 16)):
        gen = 2 + i

        def edit(maxc=maxc, i=i):
            text = web(max_capacity=maxc)
            if i % 2:
                with open(os.path.join(rev1, 'ecs', 'web.yaml'), 'w') as f:
                    f.write(text)
            else:
                c.write('ecs/web.yaml', text, root=rev1)
        a, b = change('edit %d (%s)' % (i + 1, 'in place' if i % 2 else 'rename'), edit,
                      lambda gen=gen: converged('web', gen))
        first_call.append(a)
        first_write.append(b)
        check(c.aws()['targets'][rid('web')]['MaxCapacity'] == maxc, 'max not %d' % maxc)
    gen_web = 7

    # A new file, then a deleted one (orphaned: no --prune).
    a, b = change('new manifest', lambda: c.write('ecs/api.yaml', simple('api'), root=rev1),
                  lambda: converged('api', 1))
    t0 = time.time()
    os.unlink(os.path.join(rev1, 'ecs', 'worker.yaml'))
    wait_for(lambda: (c.condition('worker') or {}).get('reason') == 'Orphaned', 10,
             'worker orphaned')
    log('  %-34s status Orphaned after %6.1f ms (no AWS call)' % ('deleted manifest',
                                                                  (time.time() - t0) * 1000))
    check(not writes(sim.calls(since=t0)), 'deleting a manifest without --prune wrote to AWS')
    check(rid('worker') in c.aws()['targets'], 'the orphaned target is gone')

    # git-sync: a new revision next to the old one, then the link swapped atomically.
    rev2 = os.path.join(repo, 'rev-2')
    shutil.copytree(rev1, rev2)
    c.write('ecs/web.yaml', web(max_capacity=20), root=rev2)
    c.write('ecs/batch.yaml', simple('batch'), root=rev2)
    c.write('ecs/worker.yaml', worker(), root=rev2)

    def swap():
        os.symlink('rev-2', os.path.join(repo, '.current-new'))
        os.rename(os.path.join(repo, '.current-new'), current)
    gen_web += 1
    change('symlink swap', swap, lambda: converged('web', gen_web) and converged('batch', 1) and
           (c.condition('worker') or {}).get('reason') == 'Converged')
    check(c.aws()['targets'][rid('web')]['MaxCapacity'] == 20, 'swap not applied')
    shutil.rmtree(rev1)  # git-sync removes the old worktree
    gen_web += 1
    change('edit after the swap', lambda: c.write('ecs/web.yaml', web(max_capacity=9), root=rev2),
           lambda: converged('web', gen_web))
    expect_objects(c.aws(), {'web': dict(WEB, max=9), 'worker': WORKER,
                             'api': simple_expect('api'), 'batch': simple_expect('batch')})
    log('  edit -> first AWS call: p50 %.1f ms, max %.1f ms; -> first write: p50 %.1f ms, max '
        '%.1f ms (%d edits)' % (percentile(first_call, 0.5), max(first_call),
                                percentile(first_write, 0.5), max(first_write), len(first_call)))
    log('  (10 ms of that is --debounce; writes that wait ~170 ms wait for the client-side rate '
        'limit, %s requests/s per service once its burst is spent)'
        % (os.environ.get('TRIMTAB_AWS_RATE') or '20 (default)'))
    check(sorted(c.tree(repo)) == ['rev-2/ecs/%s.yaml' % n for n in
                                   ('api', 'batch', 'web', 'worker')],
          'the source directory was written to', sorted(c.tree(repo)))
    check(max(first_call) < 1000 * Config.scale(), 'an edit took over a second to reach AWS')

    rc, secs = stop(proc)
    check(rc == 0, 'SIGTERM: exit %s, expected 0' % rc)
    log('  SIGTERM while idle: exit 0 after %.0f ms' % (secs * 1000))
    with open(proc.log_path) as f:
        text = f.read()
    check('stopped cleanly' in text, 'no "stopped cleanly" in the log', text[-2000:])

    # SIGTERM with a write in flight: the call finishes (and is recorded), then exit 0.
    sim.fault(kind='latency', latencyMs=1500, service='application-autoscaling',
              operation='PutScalingPolicy')
    t0 = time.time()
    proc = c.start('--resync', '10m', source=current)
    wait_for(lambda: any(x['operation'] == 'DescribeServices' for x in sim.calls(since=t0)), 10,
             'the first reconcile after the restart')
    time.sleep(0.2 * Config.scale())
    n_updated = len(c.events('web', 'Updated'))
    t0 = time.time()
    c.write('ecs/web.yaml', web(max_capacity=9, tracking_=[
        tracking('cpu', target=65, scaleOutCooldown='60s', scaleInCooldown='5m'),
        tracking('memory', 'ECSServiceAverageMemoryUtilization', 80)]), root=rev2)
    # The call log lists a call once answered: the held PutScalingPolicy shows in flight.
    wait_for(lambda: sim.inflight(operation='PutScalingPolicy'), 10,
             'the PutScalingPolicy of the edit in flight')
    rc, secs = stop(proc, grace=20)
    check(rc == 0, 'SIGTERM during a call: exit %s, expected 0' % rc)
    put = [x for x in sim.calls(since=t0) if x['operation'] == 'PutScalingPolicy']
    check(put and put[0]['status'] == 200, 'the in-flight PutScalingPolicy did not finish', put)
    check(len(c.events('web', 'Updated')) == n_updated + 1, 'the finished call has no event',
          c.events('web')[-3:])
    log('  SIGTERM with a 1.5 s call in flight: exit 0 after %.0f ms, the call finished'
        % (secs * 1000))

    # A call that outlives --shutdown-grace is cancelled; still exit 0, within the grace.
    sim.clear_faults()
    sim.fault(kind='latency', latencyMs=8000, service='application-autoscaling',
              operation='PutScalingPolicy')
    t0 = time.time()
    proc = c.start('--resync', '10m', '--shutdown-grace', '1s', source=current)
    wait_for(lambda: any(x['operation'] == 'DescribeServices' for x in sim.calls(since=t0)), 10,
             'the first reconcile after the restart')
    time.sleep(0.2 * Config.scale())
    t0 = time.time()
    c.write('ecs/web.yaml', web(max_capacity=9, tracking_=[
        tracking('cpu', target=60, scaleOutCooldown='60s', scaleInCooldown='5m'),
        tracking('memory', 'ECSServiceAverageMemoryUtilization', 80)]), root=rev2)
    wait_for(lambda: sim.inflight(operation='PutScalingPolicy'), 10,
             'the PutScalingPolicy of the edit in flight')
    rc, secs = stop(proc, grace=10)
    check(rc == 0, 'SIGTERM past the grace: exit %s, expected 0' % rc)
    check(secs < 1.0 + 1.5 * Config.scale(), 'exit took %.1fs with --shutdown-grace 1s' % secs)
    with open(proc.log_path) as f:
        check('did not finish in time' in f.read(), 'no log line about cancelling')
    log('  SIGTERM with an 8 s call and --shutdown-grace 1s: exit 0 after %.0f ms' % (secs * 1000))
    sim.clear_faults()

    # --resync corrects drift without any file change.
    proc = c.start('--resync', '1s', source=current)
    wait_for(lambda: converged('web', c.record('web')['metadata']['generation']), 20,
             'web converged after the restart')
    aas = c.client('application-autoscaling')
    t0 = time.time()
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('batch'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=3, MaxCapacity=3)
    wait_for(lambda: any(x['operation'] == 'RegisterScalableTarget' and x['time'] > t0 + 0.001
                         for x in sim.calls(since=t0)[1:]), 10 + 3, 'the resync correcting drift')
    log('  drift corrected by --resync 1s after %.0f ms' % ((time.time() - t0) * 1000))
    wait_for(lambda: c.aws()['targets'][rid('batch')]['MaxCapacity'] == 4, 5, 'batch max 4')
    rc, secs = stop(proc)
    check(rc == 0, 'exit %s' % rc)


def case_status_plan(c):
    """`trimtab status` (a table like kubectl get) and `trimtab plan` (text and --output json)
    show every kind of outcome; plan writes nothing, neither to AWS nor to the state directory."""
    aas = c.client('application-autoscaling')
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('checkout'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=1, MaxCapacity=2)
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    c.write('ecs/legacy.yaml', simple('legacy', service='checkout'))
    c.write('ecs/batch.yaml', simple('batch', suspend=True))
    c.write('ecs/broken.yaml', BROKEN)
    c.write('rds/db.yaml', to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy',
                                    'metadata': {'name': 'db', 'namespace': 'data'},
                                    'spec': {'target': {'rds': {'instance': 'orders-db'}},
                                             'storage': {'maxAllocatedGiB': 100}}}))
    c.write('other/deployment.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n'
                                     '  name: web\nspec: {}\n')
    p, _ = c.run_once()
    check(p.returncode == 1, 'run --once exited %d, expected 1 (invalid and refused)'
          % p.returncode, describe(p))
    c.remove('ecs/worker.yaml')
    c.run_once()

    p = c.trimtab('status')
    check(p.returncode == 0, 'status exited %d' % p.returncode, describe(p))
    cols, rows = table(p.stdout)
    check(cols == ['KIND', 'NAMESPACE', 'NAME', 'READY', 'REASON', 'TARGET', 'SINCE'],
          'status columns', cols)
    got = {(r['NAMESPACE'], r['NAME']): (r['KIND'], r['READY'], r['REASON'], r['TARGET'])
           for r in rows}
    want = {('shop', 'web'): ('ScalingPolicy', 'True', 'Converged', 'ecs prod/web'),
            ('shop', 'worker'): ('ScalingPolicy', 'False', 'Orphaned', 'ecs prod/worker'),
            ('shop', 'legacy'): ('ScalingPolicy', 'False', 'AdoptionRefused', 'ecs prod/checkout'),
            ('shop', 'batch'): ('ScalingPolicy', 'False', 'Suspended', None),
            ('shop', 'broken'): ('ScalingPolicy', 'False', 'InvalidSpec', None),
            # Every kind and target is implemented now; an instance that does not exist is
            # what a target outside AWS looks like.
            ('data', 'db'): ('ScalingPolicy', 'False', 'TargetNotFound', 'rds instance orders-db')}
    check(set(got) == set(want), 'status rows', sorted(got), sorted(want))
    for k, w in want.items():
        check(got[k][:3] == w[:3] and (w[3] is None or got[k][3] == w[3]),
              'status row %s/%s: %s, expected %s' % (k[0], k[1], got[k], w))
    check([(r['KIND'], r['NAMESPACE'], r['NAME']) for r in rows] ==
          sorted((r['KIND'], r['NAMESPACE'], r['NAME']) for r in rows), 'status rows unsorted')
    check(all(re.fullmatch(r'\d+[smhd]', r['SINCE']) for r in rows), 'SINCE column',
          [r['SINCE'] for r in rows])

    # plan: a change, a refusal and an invalid resource; nothing written anywhere.
    c.write('ecs/web.yaml', web(max_capacity=12))
    state_before = c.tree(c.state)
    records_before = {n: c.record(n) for n in ('web', 'legacy', 'broken')}
    p = c.plan(json_output=True, expect_rc=1)
    doc = p.doc
    keys = [r['key'] for r in doc['resources']]
    check(keys == sorted(keys), 'plan resources not sorted by key', keys)
    by = {r['key']: r for r in doc['resources']}
    check(set(by) == {'ScalingPolicy/shop/web', 'ScalingPolicy/shop/legacy',
                      'ScalingPolicy/shop/broken', 'ScalingPolicy/shop/worker',
                      'ScalingPolicy/data/db'},
          'plan JSON should list the changed, the blocked, the invalid and the orphaned resource',
          keys)
    db = by['ScalingPolicy/data/db']
    check(db['blocked'] == 'TargetNotFound' and db['actions'] == [], 'db (no instance) entry', db)
    wk = by['ScalingPolicy/shop/worker']
    check(wk['blocked'] == 'Orphaned' and '--prune' in wk['message'] and wk['actions'] == [],
          'worker (manifest deleted) entry', wk)
    w = by['ScalingPolicy/shop/web']
    check(w['kind'] == 'ScalingPolicy' and w['namespace'] == 'shop' and w['name'] == 'web' and
          w['source'] == os.path.join(c.manifests, 'ecs/web.yaml') + ':1', 'plan entry header', w)
    check(len(w['actions']) == 1, 'web: one action expected', w['actions'])
    act = w['actions'][0]
    check(act['verb'] == 'update' and act['object'] == 'scalable target service/prod/web' and
          act['changes'] == [{'field': 'maxCapacity', 'old': 10, 'new': 12}] and
          act['call'] == {'service': 'application-autoscaling',
                          'operation': 'RegisterScalableTarget', 'region': REGION,
                          'input': {'ServiceNamespace': 'ecs', 'ResourceId': rid('web'),
                                    'ScalableDimension': TARGET_DIM, 'MinCapacity': 2,
                                    'MaxCapacity': 12}}, 'web action', act)
    lg = by['ScalingPolicy/shop/legacy']
    check(lg['blocked'] == 'AdoptionRefused' and 'spec.adopt' in lg['message'] and
          lg['actions'] == [], 'legacy entry', lg)
    br = by['ScalingPolicy/shop/broken']
    check(br['blocked'] == 'InvalidSpec' and br.get('invalid') is True and
          'broken.yaml:16: spec.targetTracking[0].targetValue' in br['message'], 'broken entry',
          br)
    check(doc['summary'] == {'create': 0, 'update': 1, 'delete': 0, 'changed': 1, 'inSync': 0,
                             'blocked': 3, 'invalidOrFailed': 1}, 'plan summary', doc['summary'])
    p = c.plan(expect_rc=1)
    for needle in ('ScalingPolicy/shop/web  (%s:1)' % os.path.join(c.manifests, 'ecs/web.yaml'),
                   '  ~ update scalable target service/prod/web\n      maxCapacity: 10 → 12',
                   '! ScalingPolicy/shop/legacy: AdoptionRefused: ',
                   '! ScalingPolicy/shop/broken: InvalidSpec: ',
                   '! ScalingPolicy/shop/worker: Orphaned: ',
                   'Plan: 0 to create, 1 to update, 0 to delete, in 1 resource; 0 in sync, '
                   '3 blocked, 1 invalid or failed.'):
        check(needle in p.stdout, 'plan text lacks %r' % needle, p.stdout)
    check(c.tree(c.state) == state_before and
          all(c.record(n) == r for n, r in records_before.items()),
          'plan wrote to the state directory')
    # Without a state directory plan still works, and does not create one.
    nowhere = os.path.join(c.tmp, 'no-state')
    c.sim.reset_calls()
    p = c.trimtab('plan', '--output', 'json', '--state-dir', nowhere, state=False)
    check(p.returncode == 1 and not os.path.exists(nowhere), 'plan created a state directory',
          describe(p))
    check(not writes(c.sim.calls()), 'plan wrote to AWS')
    # After applying, plan is clean for web.
    c.remove('ecs/broken.yaml')
    c.remove('ecs/legacy.yaml')
    c.remove('rds/db.yaml')
    c.run_once('--prune')
    p = c.plan(json_output=True, expect_rc=0)
    check(p.doc['summary']['inSync'] == 1 and p.doc['summary']['changed'] == 0,
          'plan after apply', p.doc['summary'])


def case_status_readonly(c):
    """`trimtab status` only reads: pointed at a state directory that does not exist (a typo,
    or before the first run) it says there are no resources and creates nothing."""
    c.write('ecs/web.yaml', web())
    c.run_once(expect_rc=0)
    nowhere = os.path.join(c.tmp, 'nowhere')
    p = c.trimtab('status', '--state-dir', nowhere, state=False)
    check(p.returncode == 0 and 'no resources' in p.stdout + p.stderr, 'status of a missing '
          'state directory', describe(p))
    check(not os.path.exists(nowhere), 'trimtab status created the state directory %s' % nowhere,
          sorted(c.tree(nowhere)) + [d for d, _, _ in os.walk(nowhere)])
    before = c.tree(c.state)
    p = c.trimtab('status')
    check(p.returncode == 0 and c.tree(c.state) == before, 'status wrote to the state directory')


def case_requested(c):
    """The annotation trimtab.dev/reconcile-requested-at: a new value makes a running trimtab
    reconcile the resource at once (drift fixed long before the resync), and only that one."""
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    proc = c.start('--resync', '1h')

    def ready(name):
        rec = c.record(name)
        return rec is not None and any(x['type'] == 'Ready' and x['status'] == 'True'
                                       for x in rec['status'].get('conditions', []))
    wait_for(lambda: ready('web') and ready('worker'), 20, 'the first reconcile')
    aas = c.client('application-autoscaling')
    for name in ('web', 'worker'):
        aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid(name),
                                     ScalableDimension=TARGET_DIM, MinCapacity=1, MaxCapacity=3)
    time.sleep(1.0)
    check(c.aws()['targets'][rid('web')]['MaxCapacity'] == 3,
          'drift was corrected without a resync or a request')
    c.sim.reset_calls()
    t0 = time.time()
    asked = {'trimtab.dev/reconcile-requested-at': '2026-11-24T05:00:00Z'}
    c.write('ecs/web.yaml', web(annotations=asked))
    wait_for(lambda: c.aws()['targets'][rid('web')]['MaxCapacity'] == 10, 10,
             'the requested reconcile of web')
    w = writes(c.sim.calls())
    check(w and all(x['operation'] == 'RegisterScalableTarget' for x in w), 'unexpected writes',
          w)
    log('  reconcile-requested-at -> first write %.1f ms' % ((w[0]['time'] - t0) * 1000))
    check(c.aws()['targets'][rid('worker')]['MaxCapacity'] == 3,
          'worker was reconciled too, though only web was asked for')
    # The same value again (a rewrite of the file) asks for nothing.
    c.sim.reset_calls()
    c.write('ecs/web.yaml', web(annotations=asked))
    time.sleep(0.5)
    check(not c.sim.calls(), 'an unchanged annotation caused AWS calls', c.sim.calls())
    rc, _ = stop(proc)
    check(rc == 0, 'trimtab run exited %s on SIGTERM' % rc)


def case_resting(c):
    """A running trimtab lets a reconciled resource go until its next reconcile and builds it
    again from its file then (docs/engine.md, "Resting"): resyncs of resting resources write
    nothing and still correct drift; an edit, a second resource in the same file, and manifests
    deleted with --prune (their AWS objects deleted from the spec their records keep, as after
    a restart) behave as if every resource had stayed in memory; /metrics counts the resting
    ones."""
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    c.write('ecs/pair.yaml', simple('api') + '---\n' + simple('batch'))
    proc = c.start('--resync', '2s', '--prune', '--metrics-addr', '127.0.0.1:0')
    names = ('web', 'worker', 'api', 'batch')

    def ready(name):
        rec = c.record(name)
        return rec is not None and any(x['type'] == 'Ready' and x['status'] == 'True'
                                       for x in rec['status'].get('conditions', []))
    wait_for(lambda: all(ready(n) for n in names), 20, 'the first reconcile')
    expect_objects(c.aws(), {'web': WEB, 'worker': WORKER, 'api': simple_expect('api'),
                             'batch': simple_expect('batch')})

    def metric(name):
        with open(proc.log_path) as f:
            port = re.search(r'serving /metrics on port (\d+)', f.read())
        check(port, 'no "serving /metrics on port" line in the log')
        body = urllib.request.urlopen('http://127.0.0.1:%s/metrics' % port.group(1),
                                      timeout=5).read().decode()
        m = re.search(r'(?m)^%s (\S+)$' % name, body)
        check(m, '%s missing from /metrics' % name, body[-1500:])
        return float(m.group(1))
    wait_for(lambda: metric('trimtab_resources_resting') == 4, 10, 'all four resting')

    # Two resyncs (every 2 s) of resting resources: reads only, and they rest again after.
    c.sim.reset_calls()
    time.sleep(4.5 * Config.scale())
    calls = c.sim.calls()
    check(sum(1 for x in calls if x['operation'] == 'DescribeScalableTargets') >= 2,
          'fewer than two resyncs read AWS in 4.5 s', ops(calls))
    check(not writes(calls), 'a resync of resting resources wrote', ops(calls, 'write'))
    wait_for(lambda: metric('trimtab_resources_resting') == 4, 10, 'resting again')

    # Targets read on their own: c.aws() also lists tags, which races with a deletion.
    aas = c.client('application-autoscaling')

    def max_of():
        return {t['ResourceId']: t['MaxCapacity'] for t in aas.describe_scalable_targets(
            ServiceNamespace='ecs')['ScalableTargets']}

    # Drift on a resource of the two-resource file: the resync builds it again and fixes it.
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('batch'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=3, MaxCapacity=3)
    wait_for(lambda: max_of()[rid('batch')] == simple_expect('batch')['max'], 10,
             'the resync correcting batch')

    # An edit reaches AWS as ever.
    c.write('ecs/web.yaml', web(max_capacity=11))
    wait_for(lambda: max_of()[rid('web')] == 11, 10, 'the edit of web')

    # Deleted manifests, with --prune: the resting resources' objects are deleted from their
    # records' specs; the other resource of the same file stays.
    c.remove('ecs/worker.yaml')
    c.write('ecs/pair.yaml', simple('api'))
    wait_for(lambda: rid('worker') not in max_of() and rid('batch') not in max_of(), 10,
             'worker and batch pruned')
    wait_for(lambda: c.record('worker') is None and c.record('batch') is None, 10,
             'the pruned records gone')
    for name in ('worker', 'batch'):
        check(c.events(name, 'Deleted'), 'no Deleted event for %s' % name, c.events(name))
    expect_objects(c.aws(), {'web': dict(WEB, max=11), 'api': simple_expect('api')})
    wait_for(lambda: metric('trimtab_resources') == 2 and
             metric('trimtab_resources_resting') == 2, 10, 'two resources, both resting')
    rc, _ = stop(proc)
    check(rc == 0, 'trimtab run exited %s on SIGTERM' % rc)


CASES = {
    'invalid': case_invalid,
    'faults': case_faults,
    'kill9': case_kill9,
    'live': case_live,
    'status_plan': case_status_plan,
    'resting': case_resting,
    'status_readonly': case_status_readonly,
    'requested': case_requested,
}

if __name__ == '__main__':
    sys.exit(main(CASES, sys.argv[1:]))

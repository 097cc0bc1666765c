#!/usr/bin/env python3
"""trimtab against the way teams do it without trimtab, side by side on the same simulator
(SPEC §10, issue 15): N mixed resources of every kind and target in examples/' proportions
(mix.py), three phases each:

  converge   from an account where none of the managed objects exist
  no-op      everything already as declared
  change     one ScalingPolicy's target value edited (trimtab: the manifest; the scripts: their
             desired list), then one more pass

and four contestants, each on a fresh simulator holding the same fixtures:

  trimtab    `trimtab run --once` on the manifests
  boto3      converge.py --mode boto3: read-then-write per object, sequential (as ACK does it)
  threads    converge.py --mode threads: the same, 16 threads
  cli        converge.py --mode cli: one `aws` process per call, only for N ≤ --cli-max (an
             AWS CLI process costs about a second of CPU: 10,000 resources would take hours)

Figures: wall time, CPU time (the contestant's process tree; the simulator apart), calls (reads
and writes, from the simulator's call log), peak RSS (wait4 of the contestant); and trimtab's
binary size. Writes results.json and RESULTS.md to --out, and peers.png when matplotlib is there
(plot.py; Debian's python3-matplotlib).

Usage: bench_peers.py --trimtab build/cmd/trimtab [--n 100,1000,10000] [--cli-max 100]
                      [--peers boto3,threads,cli] [--out bench/peers]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'awssim'))
sys.path.insert(0, HERE)
import awssim  # noqa: E402
from mix import REGION, build  # noqa: E402

CREDS = {'AWS_ACCESS_KEY_ID': 'AKIDEXAMPLE',
         'AWS_SECRET_ACCESS_KEY': 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
         'AWS_REGION': REGION, 'AWS_DEFAULT_REGION': REGION}
PHASES = ('converge', 'noop', 'change')


def timed(cmd, env):
    """Wall seconds, CPU seconds and peak RSS (KiB) of cmd's process tree, and its exit code."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    return time.monotonic() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, rc, err


def counted(sim):
    cs = sim.calls()
    return sum(c['kind'] == 'read' for c in cs), sum(c['kind'] == 'write' for c in cs)


def write_tree(root, files):
    shutil.rmtree(root, ignore_errors=True)
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


def fresh_sim(fx):
    sim = awssim.AwsSim(fixtures=fx, stderr=subprocess.DEVNULL).start()
    # Transitions at once: the figures are the contestants', not simulated deployment times.
    sim.delays(**{k: 0 for k in sim.control('GET', 'delays')['delays']})
    return sim


def contest(name, n, work, env, trimtab, py):
    files, fx, desired = build(n)
    changed_files, _, changed = build(n, change=True)
    out = {}
    sim = fresh_sim(fx)
    try:
        e = dict(env, **sim.env(REGION))
        manifests, state = os.path.join(work, 'manifests'), os.path.join(work, 'state')
        os.makedirs(work, exist_ok=True)
        want = os.path.join(work, 'desired.json')
        with open(want, 'w') as f:
            json.dump(desired, f)
        write_tree(manifests, files)
        shutil.rmtree(state, ignore_errors=True)
        for phase in PHASES:
            if phase == 'change':
                with open(want, 'w') as f:
                    json.dump(changed, f)
                write_tree(manifests, changed_files)
            if name == 'trimtab':
                cmd = [trimtab, 'run', '--once', '--aws-rate', '0', '--log-level', 'warn',
                       '--source', 'dir:' + manifests, '--state-dir', state]
            else:
                cmd = [py, os.path.join(HERE, 'converge.py'), '--desired', want, '--mode', name]
            sim.reset_calls()
            wall, cpu, rss, rc, err = timed(cmd, e)
            if rc != 0:
                sys.stderr.write(err[-3000:].decode(errors='replace'))
                raise SystemExit('%s %s at %d exited %d' % (name, phase, n, rc))
            reads, writes = counted(sim)
            out[phase] = {'wall_s': round(wall, 2), 'cpu_s': round(cpu, 2), 'peak_rss_kib': rss,
                          'reads': reads, 'writes': writes}
            print('  %-8s %-8s %7.2f s wall %7.2f s CPU %8d KiB  %6d reads %6d writes'
                  % (name, phase, wall, cpu, rss, reads, writes), flush=True)
    finally:
        sim.stop()
    return out


def table(results, size):
    lines = ['| N | phase | contestant | wall s | CPU s | reads | writes | peak RSS MiB |',
             '|---|---|---|---|---|---|---|---|']
    for n, by in results.items():
        for phase in PHASES:
            for name, r in by['contestants'].items():
                x = r[phase]
                lines.append('| %s | %s | %s | %.2f | %.2f | %d | %d | %.1f |'
                             % ('{:,}'.format(by['resources']), phase, name, x['wall_s'],
                                x['cpu_s'], x['reads'], x['writes'], x['peak_rss_kib'] / 1024))
    lines.append('')
    lines.append('trimtab binary: %s bytes (%s stripped).' % ('{:,}'.format(size[0]),
                                                            '{:,}'.format(size[1])))
    return '\n'.join(lines) + '\n'


def binary_size(trimtab, work):
    stripped = os.path.join(work, 'trimtab.stripped')
    subprocess.run(['strip', '-o', stripped, trimtab], check=True)
    return os.path.getsize(trimtab), os.path.getsize(stripped)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--trimtab', default='build/cmd/trimtab')
    ap.add_argument('--n', default='100,1000,10000')
    ap.add_argument('--peers', default='boto3,threads,cli')
    ap.add_argument('--cli-max', type=int, default=100)
    ap.add_argument('--out', default=HERE)
    args = ap.parse_args()
    trimtab = os.path.abspath(args.trimtab)
    py = subprocess.run([os.path.join(TOP, 'scripts', 'python.sh'), 'boto3'],
                        capture_output=True, text=True).stdout.strip() or sys.executable
    work = tempfile.mkdtemp(prefix='tt-bench-peers-')
    env = dict(os.environ, HOME=work, AWS_CONFIG_FILE='/dev/null', AWS_PAGER='',
               AWS_SHARED_CREDENTIALS_FILE='/dev/null', AWS_EC2_METADATA_DISABLED='true', **CREDS)
    env.pop('AWS_PROFILE', None)
    results = {}
    try:
        for n in [int(x) for x in args.n.split(',')]:
            resources = len(build(n)[2])
            print('N = %d (%d resources)' % (n, resources), flush=True)
            by = {}
            for name in ['trimtab'] + args.peers.split(','):
                if name == 'cli' and n > args.cli_max:
                    continue
                by[name] = contest(name, n, os.path.join(work, name), env, trimtab, py)
            results[n] = {'resources': resources, 'contestants': by}
        size = binary_size(trimtab, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(args.out, 'results.json'), 'w') as f:
        json.dump({'results': results, 'binary_bytes': size[0], 'stripped_bytes': size[1]}, f,
                  indent=1)
    md = table(results, size)
    with open(os.path.join(args.out, 'RESULTS.md'), 'w') as f:
        f.write('# bench/peers results\n\nMade by `python3 bench/peers/bench_peers.py %s`.\n\n'
                % ' '.join(sys.argv[1:]) + md)
    print(md)
    plot = subprocess.run(['/usr/bin/python3', os.path.join(HERE, 'plot.py'),
                           os.path.join(args.out, 'results.json'),
                           os.path.join(args.out, 'peers.png')], capture_output=True, text=True)
    print(plot.stdout.strip() or plot.stderr.strip()[-400:])


if __name__ == '__main__':
    main()

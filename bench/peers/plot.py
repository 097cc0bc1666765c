#!/usr/bin/env python3
"""The plot of bench_peers.py's results: wall time, CPU time and calls per phase against N, one
line per contestant, log scales. Needs matplotlib (Debian: apt-get install python3-matplotlib;
run with /usr/bin/python3).

Usage: plot.py results.json peers.png
"""
import json
import sys

try:
    import matplotlib
except ImportError:
    sys.exit('no matplotlib: apt-get install python3-matplotlib, then run this with '
             '/usr/bin/python3')
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

PHASES = ('converge', 'noop', 'change')
METRICS = (('wall_s', 'wall time (s)'), ('cpu_s', 'CPU time (s)'), ('calls', 'AWS calls'))


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    results = doc['results']
    names = []
    for by in results.values():
        names += [x for x in by['contestants'] if x not in names]
    fig, axes = plt.subplots(len(METRICS), len(PHASES), figsize=(13, 10))
    for col, phase in enumerate(PHASES):
        for row, (metric, label) in enumerate(METRICS):
            ax = axes[row][col]
            for name in names:
                xs, ys = [], []
                for by in results.values():
                    r = by['contestants'].get(name)
                    if r is None:
                        continue
                    x = r[phase]
                    xs.append(by['resources'])
                    ys.append(x['reads'] + x['writes'] if metric == 'calls' else
                              max(x[metric], 0.01))
                ax.plot(xs, ys, marker='o', label=name)
            ax.set_xscale('log')
            ax.set_yscale('log')
            ax.set_title('%s: %s' % (phase, label), fontsize=10)
            ax.set_xlabel('resources')
            ax.grid(True, which='both', alpha=0.3)
    axes[0][0].legend()
    fig.suptitle('trimtab vs read-then-write scripts on the same simulator (bench/peers)')
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=90)
    print('wrote', sys.argv[2])


if __name__ == '__main__':
    main()

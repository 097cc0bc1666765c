#!/usr/bin/env python3
"""deploy/: the multi-stage Dockerfile and the kustomize base.

No container engine exists on these machines, so the Dockerfile is checked against the project
rather than built:
dockerfile: the build stage is Debian 12 and runs the project's own release build (`make
            build-release`, whose dry run with the Dockerfile's variables is the developer's
            release build plus -DTT_TESTS=OFF); the runtime stage installs exactly the Debian
            packages that own the shared libraries `ldd` lists for the release binary given
            (registered in the release build only; libc6 is in every Debian image;
            ca-certificates is the one addition), runs as a numeric non-root user, and copies
            the binary from where the build stage put it. deploy/crds is crds/, byte for byte.
kustomize:  `kubectl kustomize deploy/` (the real kubectl) builds, and the objects keep to the
            chart's least-privilege rules and security context.

Usage: test_deploy.py SOURCE_DIR TRIMTAB dockerfile|kustomize
Exit 0 pass, 1 fail, 77 (skip) when kubectl, ldd or dpkg cannot be found.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import traceback

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_helm  # noqa: E402
from test_helm import EXPECTED_RULES, check, grants, one  # noqa: E402

SOURCE = BINARY = None


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML follows YAML 1.1, where 1e+38 (no dot) is a string; kustomize writes floats that
    way and the API server (YAML 1.2, JSON numbers) reads them as numbers. So do we."""


Yaml12Loader.add_implicit_resolver(
    'tag:yaml.org,2002:float', re.compile(r'^[-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+$'),
    list('-+0123456789'))


def stages(path):
    """[(FROM line, [instructions])] with continuation lines joined and comments dropped."""
    out = []
    with open(path) as f:
        text = re.sub(r'\\\n', ' ', f.read())
    for line in text.split('\n'):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if line.upper().startswith('FROM '):
            out.append((line, []))
        else:
            check(out, 'an instruction before FROM: %s' % line)
            out[-1][1].append(line)
    return out


def runs(instructions):
    return [i[4:].strip() for i in instructions if i.upper().startswith('RUN ')]


def dry_run(*make_vars):
    """The commands `make build-release` would run (make -n), one per line."""
    p = subprocess.run(['make', '-n', '-s', 'build-release'] + list(make_vars), cwd=SOURCE,
                       capture_output=True, text=True)
    check(p.returncode == 0, 'make -n build-release failed', p.stderr)
    return [l for l in p.stdout.split('\n') if l.strip()]


def ldd_packages():
    """The Debian packages owning the binary's shared libraries."""
    out = subprocess.run(['ldd', BINARY], capture_output=True, text=True, check=True).stdout
    libs = set()
    for line in out.split('\n'):
        m = re.search(r'=> (/\S+)', line) or re.match(r'\s*(/\S+)', line)
        if m:
            libs.add(m.group(1))
    check(libs, 'ldd listed no libraries', out)
    # One dpkg -S for every name (each call reads the whole database). /lib is a symlink to
    # /usr/lib on Debian 12, and dpkg knows only one of the two names.
    names = sorted(libs | {os.path.realpath(l) for l in libs})
    p = subprocess.run(['dpkg', '-S'] + names, capture_output=True, text=True)
    owner = {}
    for line in p.stdout.split('\n'):
        if ': ' in line:
            pkg, path = line.split(': ', 1)
            owner[path] = pkg.split(',')[0].split(':')[0].strip()
    pkgs = {}
    for lib in sorted(libs):
        pkg = owner.get(lib) or owner.get(os.path.realpath(lib))
        check(pkg is not None, '%s belongs to no Debian package (built against a local '
              'library? the image could not have it)' % lib)
        pkgs[pkg] = lib
    return pkgs


def case_dockerfile():
    for f in sorted(os.listdir(os.path.join(SOURCE, 'crds'))):
        if f.endswith('.yaml'):
            with open(os.path.join(SOURCE, 'crds', f), 'rb') as a, \
                    open(os.path.join(SOURCE, 'deploy', 'crds', f), 'rb') as b:
                check(a.read() == b.read(), 'deploy/crds/%s differs from crds/%s: make crds'
                      % (f, f))
    st = stages(os.path.join(SOURCE, 'deploy', 'Dockerfile'))
    check(len(st) == 2, 'two stages expected, got %d' % len(st))
    (build_from, build), (run_from, runtime) = st
    check(re.fullmatch(r'FROM debian:12(\.\d+)? AS build', build_from, re.I),
          'the build stage must be Debian 12 named build', build_from)
    check(re.fullmatch(r'FROM debian:12(\.\d+)?-slim', run_from, re.I),
          'the runtime stage must be debian:12-slim', run_from)

    # Build stage: the project's own build, nothing compiled by hand.
    cmds = runs(build)
    check(any(c.startswith('scripts/deps.sh --build') for c in cmds),
          'the build stage does not install the build packages with scripts/deps.sh --build',
          cmds)
    makes = [c for c in cmds if c.startswith('make build-release')]
    check(len(makes) == 1, 'the build stage must run make build-release once', cmds)
    for c in cmds:
        check(not re.search(r'\b(cmake|gcc|cc|clang|ninja)\b', c),
              'the build stage compiles outside make build-release: %s' % c)
    args = shlex.split(makes[0])[2:]
    env_vars = [a for a in args if not a.startswith('JOBS=')]
    build_dir = dict(a.split('=', 1) for a in env_vars).get('RELEASE_BUILD', 'build-release')
    docker = dry_run(*env_vars)
    developer = dry_run()
    check(any('-DTT_TESTS=OFF' in c for c in docker), 'the image build does not leave the tests '
          'out (CMAKE_ARGS no longer reaches cmake?)', docker)
    normal = [' '.join(c.replace(' -DTT_TESTS=OFF', '').replace(build_dir, 'build-release').replace(
        'scripts/deps.sh --build', 'scripts/deps.sh').split()) for c in docker]
    developer = [' '.join(c.split()) for c in developer]
    check(normal == developer, 'the image build runs other commands than make build-release',
          'docker:    %s' % docker, 'developer: %s' % developer)

    # Runtime stage: exactly the libraries' packages.
    installs = [c for c in runs(runtime) if 'apt-get install' in c]
    check(len(installs) == 1, 'one apt-get install in the runtime stage', runs(runtime))
    words = shlex.split(installs[0].split('apt-get install', 1)[1].split('&&')[0])
    listed = {w for w in words if not w.startswith('-')}
    want = set(ldd_packages()) - {'libc6'}
    check(listed - {'ca-certificates'} == want,
          'the runtime stage does not install exactly the packages of ldd %s' % BINARY,
          'missing: %s' % sorted(want - listed),
          'not needed: %s' % sorted(listed - want - {'ca-certificates'}))
    user = [i for i in runtime if i.upper().startswith('USER ')]
    check(len(user) == 1 and re.fullmatch(r'USER [1-9]\d*(:[1-9]\d*)?', user[0]),
          'the runtime stage must run as a numeric non-root USER', user)
    copies = [i for i in runtime if i.startswith('COPY --from=build ')]
    check(len(copies) == 1 and copies[0].split()[2] == build_dir + '/cmd/trimtab',
          'COPY --from=build must take %s/cmd/trimtab' % build_dir, copies)
    dest = copies[0].split()[3]
    entry = [i for i in runtime if i.startswith('ENTRYPOINT ')]
    check(entry == ['ENTRYPOINT ["%s"]' % dest], 'ENTRYPOINT must be the copied binary', entry)


def case_kustomize():
    kubectl = test_helm.find_tool('kubectl')
    if kubectl is None:
        print('SKIP: kubectl not found; scripts/k8s-tools.sh installs it, or set TT_KUBECTL')
        return 77
    print('kubectl: %s' % kubectl)
    p = subprocess.run([kubectl, 'kustomize', os.path.join(SOURCE, 'deploy')],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, 'kubectl kustomize deploy/ failed', p.stderr)
    docs = [d for d in yaml.load_all(p.stdout, Loader=Yaml12Loader) if d]
    kinds = sorted(d['kind'] for d in docs)
    check(kinds == sorted(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding',
                           'Deployment', 'Service'] + ['CustomResourceDefinition'] * 4),
          'objects of deploy/', kinds)
    crds = {d['metadata']['name']: d for d in docs if d['kind'] == 'CustomResourceDefinition'}
    for f in os.listdir(os.path.join(SOURCE, 'crds')):
        if f.endswith('.yaml'):
            with open(os.path.join(SOURCE, 'crds', f)) as fh:
                want = yaml.load(fh, Loader=Yaml12Loader)
            got = crds.get(want['metadata']['name'])
            check(got is not None, 'CRD %s missing' % want['metadata']['name'])
            # kustomize adds the common labels; the schema itself must be untouched.
            check(got['spec'] == want['spec'], 'CRD %s spec changed' % f)
    ns = one(docs, 'Namespace')['metadata']['name']
    for d in docs:
        if d['kind'] in ('ServiceAccount', 'Deployment', 'Service'):
            check(d['metadata'].get('namespace') == ns, '%s not in %s' % (d['kind'], ns))
    cr = one(docs, 'ClusterRole')
    got = {(g, r, v) for g, r, v, n in grants(cr)}
    check(got == EXPECTED_RULES, 'ClusterRole is not exactly the least-privilege set',
          sorted(got ^ EXPECTED_RULES))
    sa = one(docs, 'ServiceAccount')
    crb = one(docs, 'ClusterRoleBinding')
    check(crb['subjects'] == [{'kind': 'ServiceAccount', 'name': sa['metadata']['name'],
                               'namespace': ns}], 'binding subject', crb['subjects'])
    test_helm.check_pod_security(docs)
    dep = one(docs, 'Deployment')
    c = dep['spec']['template']['spec']['containers'][0]
    check(c['image'] == 'ghcr.io/trimtab/trimtab:0.1.0', 'image not rewritten', c['image'])
    check(c['args'][:2] == ['run', '--source=kube'], 'args', c['args'])
    check(dep['spec']['template']['spec']['serviceAccountName'] == sa['metadata']['name'],
          'pod service account')
    svc = one(docs, 'Service')
    labels = dep['spec']['template']['metadata']['labels']
    check(all(labels.get(k) == v for k, v in svc['spec']['selector'].items()),
          'the Service does not select the pods', svc['spec']['selector'], labels)
    return 0


def main(argv):
    global SOURCE, BINARY
    if len(argv) != 4 or argv[3] not in ('dockerfile', 'kustomize'):
        print(__doc__)
        return 2
    SOURCE, BINARY = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    test_helm.SOURCE = SOURCE
    case = case_dockerfile if argv[3] == 'dockerfile' else case_kustomize
    if case is case_dockerfile and not (shutil.which('ldd') and shutil.which('dpkg')):
        print('SKIP: ldd and dpkg are needed (a Debian system)')
        return 77
    print('== %s' % case.__name__, flush=True)
    try:
        rc = case()
    except Exception:
        traceback.print_exc()
        print('FAILED: %s' % case.__name__)
        return 1
    if rc == 77:
        return 77
    print('   ok')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

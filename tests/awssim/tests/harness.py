"""Shared pieces of the awssim test suites: the simulator helper, boto3 clients that check every
parsed response against the operation's output shape, raw signed HTTP requests, and the exit
code ctest reads as "skipped"."""

import datetime
import http.client
import os
import sys
import time
import unittest

# The suites must not pick up the machine's AWS configuration (profiles, endpoints, keys).
for _var in ('AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID',
             'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE',
             'AWS_RETRY_MODE', 'AWS_MAX_ATTEMPTS'):
    os.environ.pop(_var, None)
os.environ.update(AWS_CONFIG_FILE='/dev/null', AWS_SHARED_CREDENTIALS_FILE='/dev/null',
                  AWS_EC2_METADATA_DISABLED='true')

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, '..', 'lib'))  # servers.py: ports, moto

from awssim import ACCESS_KEY, ACCOUNT, SECRET_KEY, AwsSim, AwsSimError  # noqa: E402,F401

# ctest's SKIP_RETURN_CODE for these suites: a missing tool is reported as skipped, never passed.
SKIP = 77


def skip(reason):
    print('SKIPPED: %s' % reason)
    sys.exit(SKIP)


# ---- response shape checks ----------------------------------------------------------------------

_PY_TYPES = {
    'string': (str,), 'integer': (int,), 'long': (int,), 'float': (float, int),
    'double': (float, int), 'boolean': (bool,), 'timestamp': (datetime.datetime,),
    'blob': (bytes, bytearray), 'structure': (dict,), 'list': (list,), 'map': (dict,),
}


def shape_problems(shape, value, path='', out=None):
    """Everything in a parsed response that its shape does not allow: wrong Python types, keys
    that are not members, required members missing."""
    out = [] if out is None else out
    t = shape.type_name
    ok = _PY_TYPES.get(t, (object,))
    if not isinstance(value, ok) or (t in ('integer', 'long') and isinstance(value, bool)):
        out.append('%s: %r is not a %s' % (path or '<root>', value, t))
        return out
    if t == 'structure':
        for name in shape.required_members:
            if name not in value:
                out.append('%s: required member %s missing' % (path or '<root>', name))
        for k, v in value.items():
            if k == 'ResponseMetadata' and not path:
                continue
            if k not in shape.members:
                out.append('%s: %s is not a member of %s' % (path or '<root>', k, shape.name))
                continue
            shape_problems(shape.members[k], v, '%s.%s' % (path, k) if path else k, out)
    elif t == 'list':
        for i, v in enumerate(value):
            shape_problems(shape.member, v, '%s[%d]' % (path, i), out)
    elif t == 'map':
        for k, v in value.items():
            shape_problems(shape.value, v, '%s{%s}' % (path, k), out)
    elif t == 'string' and shape.enum and value not in shape.enum:
        out.append('%s: %r is not one of the enum values' % (path, value))
    return out


class ShapeError(AssertionError):
    pass


def checked(client):
    """Makes client raise ShapeError when a successful response does not fit its output shape."""
    def after_call(http_response, parsed, model, **kwargs):
        if http_response.status_code >= 300 or model.output_shape is None:
            return
        problems = shape_problems(model.output_shape, parsed)
        if problems:
            raise ShapeError('%s response does not fit %s: %s' % (
                model.name, model.output_shape.name, '; '.join(problems[:5])))
    client.meta.events.register('after-call.*.*', after_call)
    return client


class SimTestCase(unittest.TestCase):
    """A test case class sharing one strict simulator per module; state is reset before each
    test and transition delays are short."""

    sim = None
    fixtures = None
    delays = {'rds': 0.3, 'cloudfront': 0.3, 'ecs': 0.3, 'elasticache': 0.3, 'lambda': 0.3,
              'rotation': 0}

    @classmethod
    def setUpClass(cls):
        if SimTestCase.sim is None:
            SimTestCase.sim = AwsSim(strict=True, fixtures=cls.fixtures).start()
        cls.sim = SimTestCase.sim

    def setUp(self):
        self.sim.reset()
        self.sim.delays(**self.delays)
        self._clients = {}

    def client(self, service, region='us-east-1', **kw):
        key = (service, region, tuple(sorted(kw.items())))
        if key not in self._clients:
            self._clients[key] = checked(self.sim.client(service, region, **kw))
        return self._clients[key]

    def assertAwsError(self, code, fn, *args, status=None, message=None, **kwargs):
        """Calls fn and asserts it fails with AWS error code (and HTTP status, message part)."""
        from botocore.exceptions import ClientError
        try:
            fn(*args, **kwargs)
        except ClientError as e:
            err = e.response['Error']
            self.assertEqual(err.get('Code'), code, 'error %s: %s' % (err.get('Code'), err.get('Message')))
            if status is not None:
                self.assertEqual(e.response['ResponseMetadata']['HTTPStatusCode'], status)
            if message is not None:
                self.assertIn(message, err.get('Message', ''))
            return e
        self.fail('expected AWS error %s, the call succeeded' % code)

    def wait_for(self, fn, timeout=5.0, interval=0.05):
        """Polls fn until it returns a true value; fails after timeout."""
        deadline = time.time() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.time() > deadline:
                self.fail('condition not reached within %.1fs' % timeout)
            time.sleep(interval)


def stop_shared_sim():
    if SimTestCase.sim is not None:
        rc = SimTestCase.sim.stop()
        SimTestCase.sim = None
        return rc


def main():
    """unittest.main that stops the shared simulator and checks it exited 0 on SIGTERM."""
    prog = unittest.main(exit=False, verbosity=2)
    rc = stop_shared_sim()
    ok = prog.result.wasSuccessful()
    if rc not in (0, None):
        print('FAIL: awssim exited with status %r after SIGTERM' % rc)
        ok = False
    sys.exit(0 if ok else 1)


# ---- fixtures the service suites share (test_svc_*.py) -----------------------------------------

ROLE = 'arn:aws:iam::%s:role/lambda-exec' % ACCOUNT
ROTATION_FN = 'arn:aws:lambda:us-east-1:%s:function:rotate-db' % ACCOUNT


def ecs_service(tc, cluster='demo', name='web', desired=2):
    ecs = tc.client('ecs')
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family=name, containerDefinitions=[
        {'name': name, 'image': 'nginx', 'memory': 256}])
    return ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=name,
                              desiredCount=desired)['service']


def lambda_alias(tc, name='api', alias='live'):
    lam = tc.client('lambda')
    lam.create_function(FunctionName=name, Runtime='python3.12', Role=ROLE, Handler='app.handler',
                        Code={'ZipFile': b'print(1)'})
    v = lam.publish_version(FunctionName=name)['Version']
    lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=v)
    return v


def distribution_config(ref='ref-1', **extra):
    cfg = {'CallerReference': ref, 'Comment': 'shop', 'Enabled': True,
           'Origins': {'Quantity': 1, 'Items': [{
               'Id': 'app', 'DomainName': 'app.example.com',
               'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443,
                                      'OriginProtocolPolicy': 'https-only'}}]},
           'DefaultCacheBehavior': {'TargetOriginId': 'app', 'ViewerProtocolPolicy': 'redirect-to-https',
                                    'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}}
    cfg.update(extra)
    return cfg


# ---- raw requests ---------------------------------------------------------------------------------

def signed_request(endpoint, service, method='POST', path='/', query='', headers=None, body=b'',
                   region='us-east-1', access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=None,
                   amz_date=None, sign=True):
    """Sends one request signed with botocore's SigV4 signer (or unsigned). Returns
    (status, {lower-case header: value}, body bytes)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = endpoint + path + ('?' + query if query else '')
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if sign:
        signer = SigV4Auth(Credentials(access_key, secret_key, token), service, region)
        if amz_date is not None:
            import botocore.auth
            real = botocore.auth.get_current_datetime if hasattr(botocore.auth, 'get_current_datetime') else None
            fixed = amz_date
            if real is not None:
                botocore.auth.get_current_datetime = lambda: fixed
                try:
                    signer.add_auth(req)
                finally:
                    botocore.auth.get_current_datetime = real
            else:
                import unittest.mock
                with unittest.mock.patch('botocore.auth.datetime') as m:
                    m.datetime.utcnow.return_value = fixed
                    m.datetime.strptime = datetime.datetime.strptime
                    signer.add_auth(req)
        else:
            signer.add_auth(req)
    prepared = req.prepare()
    host, port = endpoint.split('//', 1)[1].split(':')
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, prepared.url.split(endpoint, 1)[1] or '/', body=prepared.body,
                     headers=dict(prepared.headers.items()))
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()

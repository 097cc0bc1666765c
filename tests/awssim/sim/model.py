"""The service models, loaded from the botocore installed next to the interpreter.

A Service wraps botocore's ServiceModel with what the server needs to route a request: the
protocols the service speaks, its JSON target prefix, its REST routes compiled from each
operation's requestUri, and its modelled errors by code.
"""

import re
import urllib.parse

import botocore.loaders
import botocore.model

# The SigV4 credential-scope service name -> botocore's service name.
SIGNING_NAMES = {
    'application-autoscaling': 'application-autoscaling',
    'ecs': 'ecs',
    'rds': 'rds',
    'elasticache': 'elasticache',
    'lambda': 'lambda',
    'cloudfront': 'cloudfront',
    'monitoring': 'cloudwatch',
    'budgets': 'budgets',
    'secretsmanager': 'secretsmanager',
    'sts': 'sts',
}

# CloudWatch moved from Query to JSON 1.0 in 2025 (botocore >= 1.37 talks JSON to it, marked
# awsQueryCompatible so the Query error codes travel in the x-amzn-query-error header). An older
# botocore's model only declares Query, so the JSON facts are kept here to serve both clients.
JSON_COMPAT = {'cloudwatch': ('GraniteServiceVersion20100801', '1.0')}

WIRE_PROTOCOLS = ('json', 'query', 'rest-json', 'rest-xml')

# Global services sign with this region whatever the client's region.
GLOBAL_SERVICES = {'cloudfront': 'us-east-1', 'budgets': 'us-east-1'}


class Route:
    """One REST operation's requestUri compiled to a regex plus the literal query parameters
    it requires (e.g. CloudFront's "?Operation=Tag", Lambda's "?List=ALL")."""

    def __init__(self, op_name, method, request_uri):
        self.op_name = op_name
        self.method = method
        path, _, query = request_uri.partition('?')
        self.query = {}
        for part in query.split('&') if query else []:
            k, eq, v = part.partition('=')
            self.query[k] = v if eq else None
        pattern, literal = '', 0
        for piece in re.split(r'(\{[^}]+\})', path):
            if piece.startswith('{'):
                name = piece[1:-1]
                greedy = name.endswith('+')
                name = name.rstrip('+')
                pattern += '(?P<%s>%s)' % (_group(name), '.+' if greedy else '[^/]+')
            else:
                pattern += re.escape(piece)
                literal += len(piece)
        self.regex = re.compile(pattern + '/?$' if not path.endswith('/') else pattern + '$')
        self.labels = {_group(n.rstrip('+')): n.rstrip('+') for n in re.findall(r'\{([^}]+)\}', path)}
        # More required query literals and a longer literal path win over a looser match.
        self.score = (len(self.query), literal)

    def match(self, method, raw_path, query):
        if method != self.method:
            return None
        m = self.regex.match(raw_path)
        if not m:
            return None
        for k, v in self.query.items():
            if k not in query or (v is not None and query[k] != [v]):
                return None
        return {self.labels[g]: urllib.parse.unquote(val) for g, val in m.groupdict().items()}


def _group(name):
    return 'g_' + re.sub(r'\W', '_', name)


class Service:
    """One AWS service as described by its botocore model."""

    def __init__(self, name, raw):
        self.name = name
        self.raw = raw
        self.model = botocore.model.ServiceModel(raw, name)
        md = raw['metadata']
        declared = md.get('protocols') or [md['protocol']]
        self.protocols = {p for p in declared if p in WIRE_PROTOCOLS}
        self.target_prefix = md.get('targetPrefix')
        self.json_version = md.get('jsonVersion', '1.1')
        self.query_compatible = 'awsQueryCompatible' in md
        if name in JSON_COMPAT:
            self.protocols.add('json')
            self.target_prefix, self.json_version = JSON_COMPAT[name]
            self.query_compatible = True
        self.api_version = md['apiVersion']
        self.xml_namespace = md.get('xmlNamespace') or (
            'http://%s.amazonaws.com/doc/%s/' % (md['endpointPrefix'], self.api_version))
        self.rest = next((p for p in ('rest-json', 'rest-xml') if p in self.protocols), None)
        self.routes = []
        if self.rest:
            for op_name, op in raw['operations'].items():
                http = op.get('http', {})
                self.routes.append(Route(op_name, http.get('method', 'POST'), http['requestUri']))
            self.routes.sort(key=lambda r: r.score, reverse=True)
        self._ops = {}
        # Error shapes by shape name and by wire code; a shape named like the code wins
        # (CloudWatch has two shapes with code ResourceNotFound).
        self.errors = {}
        exceptions = [(n, s) for n, s in raw['shapes'].items() if s.get('exception')]
        for shape_name, shape in exceptions:
            err = shape.get('error', {})
            self.errors[shape_name] = (shape_name, err.get('httpStatusCode', 400),
                                       err.get('senderFault', True))
        for shape_name, shape in exceptions:
            code = shape.get('error', {}).get('code', shape_name)
            self.errors.setdefault(code, self.errors[shape_name])

    def operation(self, name):
        """The botocore OperationModel for name, or None when the model has no such operation."""
        op = self._ops.get(name)
        if op is None:
            if not name or name not in self.raw['operations']:
                return None
            op = self._ops[name] = self.model.operation_model(name)
        return op

    def route(self, method, raw_path, query):
        """Finds the REST operation for a request. query is the parsed query string
        ({name: [values]}). Returns (operation name, {uri label: decoded value}) or None."""
        for r in self.routes:
            params = r.match(method, raw_path, query)
            if params is not None:
                return r.op_name, params
        return None

    def error_info(self, code):
        """(shape name or None, HTTP status, sender fault) for an error code."""
        info = self.errors.get(code)
        if info is None:
            return None, 400, True
        return info


class Registry:
    """All simulated services, by botocore name and by signing name."""

    def __init__(self):
        loader = botocore.loaders.Loader()
        self.services = {}
        for name in sorted(set(SIGNING_NAMES.values())):
            self.services[name] = Service(name, loader.load_service_model(name, 'service-2'))
        self.by_target = {}
        for svc in self.services.values():
            if 'json' in svc.protocols:
                self.by_target[svc.target_prefix] = svc

    def by_signing_name(self, signing_name):
        name = SIGNING_NAMES.get(signing_name)
        return self.services.get(name) if name else None

    def __getitem__(self, name):
        return self.services[name]

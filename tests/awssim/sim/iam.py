"""IAM policy evaluation: identity-based policies attached to principals through the control API
(POST /_awssim/iam/policy), enforced on every signed call of those principals. Principals
without a policy are not restricted, so the simulator behaves as before unless a test asks.

What is evaluated, as AWS documents it for identity-based policies:
- the request: the IAM action (prefix:Operation, or a service's own name for it, e.g. Budgets'
  ViewBudget), the resource ARN(s) the operation acts on (each service module's IAM_RESOURCES
  table; "*" for operations without resource-level permissions), and the condition keys
  aws:ResourceTag/<key> (the tags the service holds on that resource), aws:RequestTag/<key> and
  aws:TagKeys (from the request's tags);
- tag-on-create: a request carrying tags also needs <prefix>:TagResource on the same resource;
- statements: Effect Allow/Deny, Action/NotAction and Resource/NotResource with * and ?
  wildcards (actions case-insensitively), Condition with StringEquals, StringNotEquals,
  StringLike, StringNotLike (and their ForAllValues:/ForAnyValue: forms, and IfExists);
- decision: an explicit Deny wins, then any Allow, else the implicit deny. Every resource of a
  multi-resource call (DeleteAlarms) must be allowed.

A refusal is AWS's AccessDenied in the protocol's shape: AccessDeniedException (JSON and
REST-JSON) or AccessDenied (Query, REST-XML), with the message "User: <arn> is not authorized to
perform: <action> on resource: <arn> because no identity-based policy allows the <action>
action" (or "with an explicit deny in an identity-based policy").
"""

import fnmatch
import re

from .errors import AwsError

# The IAM service prefix of each simulated service (botocore name -> prefix).
PREFIX = {
    'application-autoscaling': 'application-autoscaling', 'ecs': 'ecs', 'rds': 'rds',
    'elasticache': 'elasticache', 'lambda': 'lambda', 'cloudfront': 'cloudfront',
    'cloudwatch': 'cloudwatch', 'budgets': 'budgets', 'secretsmanager': 'secretsmanager',
    'sts': 'sts',
}

# Operations AWS authorises without any permission.
UNAUTHORISED = {('sts', 'GetCallerIdentity'), ('sts', 'AssumeRoleWithWebIdentity')}

_TAGGING_OPS = ('TagResource', 'UntagResource', 'AddTagsToResource', 'RemoveTagsFromResource')
# The tagging action tag-on-create also needs, where a service does not call it TagResource.
_TAG_ACTION = {'rds': 'AddTagsToResource', 'elasticache': 'AddTagsToResource'}


def principal_of(identity):
    """The ARN policies attach to: an assumed-role session uses its role's policies."""
    arn = identity['arn']
    m = re.match(r'arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/', arn)
    if m:
        return 'arn:%s:iam::%s:role/%s' % m.groups()
    return arn


def _glob(pattern, value, ignore_case=False):
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    # fnmatch's [...] classes do not exist in IAM: escape them.
    pattern = pattern.replace('[', '[[]')
    return fnmatch.fnmatchcase(value, pattern)


def _as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def request_tags(params):
    """The tags a request writes, as a dict, from any of the services' forms."""
    for key in ('Tags', 'ResourceTags'):
        tags = params.get(key)
        if isinstance(tags, dict):
            return dict(tags)
        if isinstance(tags, list):
            return {t.get('Key'): t.get('Value', '') for t in tags if isinstance(t, dict)}
    return None


def request_tag_keys(params):
    tags = request_tags(params)
    if tags is not None:
        return list(tags)
    for key in ('TagKeys', 'ResourceTagKeys'):
        if isinstance(params.get(key), list):
            return list(params[key])
    return None


def _condition_values(key, ctx_keys):
    """The request's values of a condition key (a list), or None when the key is absent. Key
    names compare case-insensitively, the tag key after the '/' exactly."""
    prefix, _, tag = key.partition('/')
    for k, v in ctx_keys.items():
        kprefix, _, ktag = k.partition('/')
        if kprefix.lower() == prefix.lower() and ktag == tag:
            return _as_list(v)
    return None


def _match_operator(op, want, have):
    if op in ('StringEquals', 'StringNotEquals'):
        hit = have in want
    elif op in ('StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase'):
        hit = have.lower() in [w.lower() for w in want]
    elif op in ('StringLike', 'StringNotLike'):
        hit = any(_glob(w, have) for w in want)
    else:
        raise ValueError('awssim does not evaluate the condition operator %s' % op)
    return not hit if 'Not' in op else hit


def _condition_holds(operator, key, want, ctx_keys):
    qualifier, _, op = operator.rpartition(':')
    if_exists = op.endswith('IfExists')
    if if_exists:
        op = op[:-len('IfExists')]
    have = _condition_values(key, ctx_keys)
    want = [str(w) for w in _as_list(want)]
    if qualifier == 'ForAllValues':
        return all(_match_operator(op, want, h) for h in (have or []))
    if qualifier == 'ForAnyValue':
        return any(_match_operator(op, want, h) for h in (have or []))
    if have is None:
        return if_exists
    return any(_match_operator(op, want, h) for h in have)


def _statement_applies(st, action, resource, ctx_keys):
    if 'Action' in st:
        if not any(_glob(a, action, ignore_case=True) for a in _as_list(st['Action'])):
            return False
    elif any(_glob(a, action, ignore_case=True) for a in _as_list(st.get('NotAction'))):
        return False
    if 'Resource' in st:
        if not any(_glob(r, resource) for r in _as_list(st['Resource'])):
            return False
    elif any(_glob(r, resource) for r in _as_list(st.get('NotResource'))):
        return False
    for operator, keys in (st.get('Condition') or {}).items():
        for key, want in keys.items():
            if not _condition_holds(operator, key, want, ctx_keys):
                return False
    return True


def evaluate(policies, action, resource, ctx_keys):
    """'allow', 'deny' (explicit) or 'implicit' for one action on one resource."""
    allowed = False
    for doc in policies:
        for st in _as_list(doc.get('Statement')):
            if _statement_applies(st, action, resource, ctx_keys):
                if st.get('Effect') == 'Deny':
                    return 'deny'
                if st.get('Effect') == 'Allow':
                    allowed = True
    return 'allow' if allowed else 'implicit'


def check_policy(doc):
    """Refuses a document the evaluator would misread (raises ValueError)."""
    if not isinstance(doc, dict) or not isinstance(doc.get('Statement'), (list, dict)):
        raise ValueError('a policy needs a Statement list')
    for st in _as_list(doc['Statement']):
        if st.get('Effect') not in ('Allow', 'Deny'):
            raise ValueError('Effect must be Allow or Deny')
        if ('Action' in st) == ('NotAction' in st):
            raise ValueError('a statement needs exactly one of Action and NotAction')
        if ('Resource' in st) == ('NotResource' in st):
            raise ValueError('a statement needs exactly one of Resource and NotResource')
        for operator in (st.get('Condition') or {}):
            _match_operator(operator.rpartition(':')[2].replace('IfExists', ''), [], '')


# Services whose error codes are the Query family's (CloudWatch keeps them over JSON, the
# awsQueryCompatible trait, so botocore reads AccessDenied from x-amzn-query-error).
QUERY_FAMILY = ('rds', 'elasticache', 'cloudwatch', 'sts', 'cloudfront')


def _denied(service, protocol, principal, action, resource, explicit):
    why = ('with an explicit deny in an identity-based policy' if explicit else
           'because no identity-based policy allows the %s action' % action)
    msg = 'User: %s is not authorized to perform: %s on resource: %s %s' % (
        principal, action, resource, why)
    if service not in QUERY_FAMILY:
        return AwsError('AccessDeniedException', msg, status=400 if protocol == 'json' else 403)
    return AwsError('AccessDenied', msg, status=403)


def authorize(state, service, protocol, module, ctx, operation, params):
    """Raises the AccessDenied error when the caller's policies do not allow the call."""
    ident = ctx.identity
    if ident is None or (service, operation) in UNAUTHORISED:
        return
    policies = state.iam_policies.get(principal_of(ident))
    if policies is None:
        return
    actions = getattr(module, 'IAM_ACTIONS', {})
    action = '%s:%s' % (PREFIX[service], actions.get(operation, operation))
    table = getattr(module, 'IAM_RESOURCES', {})
    resources = table[operation](ctx, params) if operation in table else ['*']
    tags_of = getattr(module, 'iam_tags', None)
    req_tags = request_tags(params)
    tag_keys = request_tag_keys(params)
    needs = [action]
    if req_tags and operation not in _TAGGING_OPS:
        needs.append('%s:%s' % (PREFIX[service], _TAG_ACTION.get(service, 'TagResource')))
    for resource in resources:
        keys = {}
        have = tags_of(ctx, resource) if tags_of and resource != '*' else None
        for k, v in (have or {}).items():
            keys['aws:ResourceTag/' + k] = v
        for k, v in (req_tags or {}).items():
            keys['aws:RequestTag/' + k] = v
        if tag_keys is not None:
            keys['aws:TagKeys'] = tag_keys
        for need in needs:
            verdict = evaluate(policies, need, resource, keys)
            if verdict != 'allow':
                raise _denied(service, protocol, ident['arn'], need, resource, verdict == 'deny')

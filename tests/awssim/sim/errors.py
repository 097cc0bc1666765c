"""AwsError and the tables of error codes AWS uses per service and per protocol family.

Every error the simulator returns is an AwsError. Its HTTP status comes, in this order, from the
error itself, from the service model's error shape of that code (e.g. RDS DBInstanceNotFound is
404 there), or 400. Where the models say nothing (authentication, throttling, validation, unknown
operations) the tables below hold what AWS answers; the README lists their sources.
"""


class AwsError(Exception):
    """An AWS error response. code is the error code as AWS sends it (the Query/XML <Code>, the
    JSON __type); fields are extra members of the modelled error shape (e.g. Lambda's Reason);
    headers are extra response headers (e.g. Retry-After)."""

    def __init__(self, code, message='', status=None, sender=True, fields=None, headers=None):
        super().__init__('%s: %s' % (code, message))
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender
        self.fields = fields or {}
        self.headers = headers or {}


# The throttling error each service returns: (code, HTTP status, message). Botocore and the AWS
# SDKs classify all of these codes as throttling in their standard retry mode.
THROTTLING = {
    'application-autoscaling': ('ThrottlingException', 400, 'Rate exceeded'),
    'ecs': ('ThrottlingException', 400, 'Rate exceeded'),
    'rds': ('Throttling', 400, 'Rate exceeded'),
    'elasticache': ('Throttling', 400, 'Rate exceeded'),
    'lambda': ('TooManyRequestsException', 429, 'Rate exceeded'),
    'cloudfront': ('Throttling', 400, 'Rate exceeded'),
    'cloudwatch': ('Throttling', 400, 'Rate exceeded'),
    'budgets': ('ThrottlingException', 400, 'Rate exceeded'),
    'secretsmanager': ('ThrottlingException', 400, 'Rate exceeded'),
    'sts': ('Throttling', 400, 'Rate exceeded'),
}


def throttling_error(service):
    code, status, message = THROTTLING[service]
    fields, headers = {}, {}
    if service == 'lambda':
        # Lambda says why and when to come back.
        fields = {'Reason': 'CallerRateLimitExceeded', 'Type': 'User'}
        headers = {'Retry-After': '1'}
    return AwsError(code, message, status=status, fields=fields, headers=headers)


def server_error(service, status=500):
    """A 5xx with the code the service family uses."""
    if status == 503:
        return AwsError('ServiceUnavailable', 'Service is unavailable. Please try again later.',
                        status=503, sender=False)
    if service == 'lambda':
        return AwsError('ServiceException', 'The AWS Lambda service encountered an internal error.',
                        status=status, sender=False, fields={'Type': 'Service'})
    return AwsError('InternalFailure', 'The request processing has failed because of an unknown '
                    'error, exception or failure.', status=status, sender=False)


# Authentication errors by protocol family. "json" is the Coral JSON services, "query" also
# covers REST-XML (CloudFront), "rest-json" is Lambda.
_AUTH = {
    'json': {
        'unknown_key': ('UnrecognizedClientException', 400,
                        'The security token included in the request is invalid.'),
        'bad_signature': ('InvalidSignatureException', 400, None),
        'expired': ('InvalidSignatureException', 400, None),
        'missing': ('MissingAuthenticationTokenException', 400, 'Missing Authentication Token'),
        'incomplete': ('IncompleteSignatureException', 400, None),
        'expired_token': ('ExpiredTokenException', 400,
                          'The security token included in the request is expired'),
        'invalid_token': ('UnrecognizedClientException', 400,
                          'The security token included in the request is invalid.'),
    },
    'query': {
        'unknown_key': ('InvalidClientTokenId', 403,
                        'The security token included in the request is invalid.'),
        'bad_signature': ('SignatureDoesNotMatch', 403, None),
        'expired': ('SignatureDoesNotMatch', 403, None),
        'missing': ('MissingAuthenticationToken', 403, 'Request is missing Authentication Token'),
        'incomplete': ('IncompleteSignature', 400, None),
        'expired_token': ('ExpiredToken', 403,
                          'The security token included in the request is expired'),
        'invalid_token': ('InvalidClientTokenId', 403,
                          'The security token included in the request is invalid.'),
    },
    'rest-json': {
        'unknown_key': ('UnrecognizedClientException', 403,
                        'The security token included in the request is invalid.'),
        'bad_signature': ('InvalidSignatureException', 403, None),
        'expired': ('InvalidSignatureException', 403, None),
        'missing': ('MissingAuthenticationTokenException', 403, 'Missing Authentication Token'),
        'incomplete': ('IncompleteSignatureException', 403, None),
        'expired_token': ('ExpiredTokenException', 403,
                          'The security token included in the request is expired'),
        'invalid_token': ('UnrecognizedClientException', 403,
                          'The security token included in the request is invalid.'),
    },
}

BAD_SIGNATURE_MESSAGE = ('The request signature we calculated does not match the signature you '
                         'provided. Check your AWS Secret Access Key and signing method. Consult '
                         'the service documentation for details.')


def auth_error(protocol, kind, message=None):
    family = {'json': 'json', 'query': 'query', 'rest-xml': 'query'}.get(protocol, 'rest-json')
    code, status, default = _AUTH[family][kind]
    return AwsError(code, message or default or BAD_SIGNATURE_MESSAGE, status=status)


def unknown_operation(protocol, name):
    if protocol == 'query':
        return AwsError('InvalidAction', 'The action %s is not valid for this web service.' % name)
    if protocol == 'json':
        return AwsError('UnknownOperationException', '')
    return AwsError('UnknownOperationException', 'Unknown operation %s' % name, status=404)


def missing_action():
    return AwsError('MissingAction', 'The request must contain the parameter Action.')


# Model validation errors: how each service reports a request that breaks the model's
# constraints. style "coral" is AWS's framework message ("1 validation error detected: Value 'x'
# at 'alarmName' failed to satisfy constraint: Member must have length less than or equal to
# 255"); style "query" is the older Query services' MissingParameter / InvalidParameterValue.
VALIDATION = {
    'application-autoscaling': {'style': 'coral', 'code': 'ValidationException',
                                'type_code': 'SerializationException'},
    'ecs': {'style': 'coral', 'code': 'InvalidParameterException',
            'type_code': 'SerializationException'},
    'lambda': {'style': 'coral', 'code': 'ValidationException',
               'type_code': 'SerializationException'},
    'budgets': {'style': 'coral', 'code': 'ValidationException',
                'type_code': 'SerializationException'},
    'secretsmanager': {'style': 'coral', 'code': 'ValidationException',
                       'type_code': 'SerializationException'},
    'cloudwatch': {'style': 'coral', 'code': 'ValidationError', 'type_code': 'InvalidParameterValue'},
    'sts': {'style': 'coral', 'code': 'ValidationError', 'type_code': 'ValidationError'},
    'rds': {'style': 'query', 'missing': 'MissingParameter', 'code': 'InvalidParameterValue',
            'type_code': 'InvalidParameterValue'},
    'elasticache': {'style': 'query', 'missing': 'MissingParameter', 'code': 'InvalidParameterValue',
                    'type_code': 'InvalidParameterValue'},
    'cloudfront': {'style': 'coral', 'code': 'InvalidArgument', 'type_code': 'MalformedInput'},
}


class TypeProblem(Exception):
    """Raised by the wire parsers when a value has the wrong type for its shape (a string where a
    number is expected, bad base64, malformed JSON or XML). Turned into the service's error."""

    def __init__(self, path, message):
        super().__init__(message)
        self.path = path
        self.message = message


def type_error(service, protocol, problem):
    return AwsError(VALIDATION[service]['type_code'], problem.message)

"""awssim: a local AWS API simulator for trimtab's tests.

The package is split the way the request flows:

- model.py     loads botocore's service models and resolves a request to (service, operation)
- sigv4.py     verifies SigV4 signatures with botocore's own signer
- wire.py      parses a request into the operation's input shape and serialises output and
               errors for the four protocols (JSON, Query/XML, REST-JSON, REST-XML)
- validate.py  checks an input value against the model (required, types, enums, lengths,
               ranges, patterns) and reports AWS's own validation error
- errors.py    AwsError and the per-service tables of error codes (validation, throttling,
               authentication) that AWS uses
- state.py     all mutable state behind one lock: per-account/region stores, scheduled
               transitions, faults, the call log, settings
- services/    one small module per service with the stateful logic as plain dicts
- control.py   the /_awssim/ control API
- fixtures.py  pre-existing infrastructure loaded from JSON
"""

"""The services: one module each, holding their state as plain dicts.

A module exports SERVICE (botocore's name), new_store() (a fresh, empty store) and OPS, a dict
of operation name -> handler(ctx, params) -> output dict, filled with the @operation decorator
of ops(). Handlers run under the state lock; they raise AwsError for AWS errors.
"""

import copy


def ops():
    """Returns (OPS dict, decorator registering a handler under an operation name)."""
    table = {}

    def operation(name):
        def register(fn):
            table[name] = fn
            return fn
        return register
    return table, operation


class Ctx:
    """What a handler knows about its call: the state, the caller's account and region, the
    caller identity (from its credentials), and helpers to reach other services' stores and
    schedule transitions."""

    def __init__(self, state, module, account, region, identity, operation, headers=None):
        self.state = state
        self.module = module
        self.account = account
        self.region = region
        self.identity = identity
        self.operation = operation
        self.headers = headers
        self.store = state.store(module, account, region)

    def store_for(self, module, region=None, account=None):
        return self.state.store(module, account or self.account, region or self.region)

    def later(self, kind, fn, delay=None):
        self.state.later(kind, fn, delay)

    def seq(self):
        return self.state.next_seq()


def clone(value):
    """A deep copy of stored data, for outputs that must not alias the store."""
    return copy.deepcopy(value)


def all_modules():
    from . import (appautoscaling, budgets, cloudfront, cloudwatch, ecs, elasticache,
                   lambda_, rds, secretsmanager, sts)
    mods = [appautoscaling, budgets, cloudfront, cloudwatch, ecs, elasticache, lambda_, rds,
            secretsmanager, sts]
    return {m.SERVICE: m for m in mods}

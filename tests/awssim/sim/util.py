"""Small helpers shared by the wire layer and the services: ids, time formats, pagination."""

import base64
import calendar
import email.utils
import json
import os
import random
import string
import time
import uuid


DEFAULT_ACCOUNT = '123456789012'


def now():
    """Current time as epoch seconds (float). All timestamps in the state are floats."""
    return time.time()


def new_uuid():
    return str(uuid.uuid4())


def rand_id(n, alphabet=string.ascii_lowercase + string.digits):
    return ''.join(random.choice(alphabet) for _ in range(n))


def iso8601(ts):
    """Epoch seconds to the ISO 8601 form AWS uses in XML and query strings (milliseconds, Z)."""
    ms = int(round((ts - int(ts)) * 1000))
    sec = int(ts)
    if ms >= 1000:
        sec, ms = sec + 1, 0
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(sec)) + '.%03dZ' % ms


def rfc822(ts):
    return email.utils.formatdate(ts, usegmt=True)


def epoch_json(ts):
    """Epoch seconds as a JSON number: an integer when whole, else millisecond precision."""
    if ts == int(ts):
        return int(ts)
    return round(ts, 3)


def parse_timestamp(text):
    """Parses the timestamp forms botocore and the AWS CLI send: ISO 8601 (with or without
    fraction and offset), epoch seconds, RFC 822. Returns epoch seconds or raises ValueError."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    import datetime
    t = text
    if t.endswith('Z') or t.endswith('z'):
        t = t[:-1] + '+00:00'
    try:
        d = datetime.datetime.fromisoformat(t)
    except ValueError:
        d = None
    if d is None:
        try:
            d = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise ValueError('not a timestamp: %r' % text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


def lambda_time(ts):
    """Lambda's LastModified string form: 2024-01-31T12:00:00.000+0000."""
    ms = int((ts - int(ts)) * 1000)
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(int(ts))) + '.%03d+0000' % ms


def start_of_month(ts):
    t = time.gmtime(ts)
    return calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0))


# ---- pagination -------------------------------------------------------------------------

def encode_token(tag, key):
    raw = json.dumps([tag, key], separators=(',', ':')).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip('=')


def decode_token(tag, token):
    """Returns the key stored in a token made by encode_token for the same tag, or raises
    ValueError for anything else (a token from another operation, garbage)."""
    try:
        pad = '=' * (-len(token) % 4)
        got_tag, key = json.loads(base64.urlsafe_b64decode(token + pad))
    except Exception:
        raise ValueError('bad token')
    if got_tag != tag:
        raise ValueError('token from another operation')
    return key


def paginate(items, sort_key, token, limit, tag, bad_token):
    """Pages through items sorted by sort_key (a function returning a JSON-able, comparable key,
    unique per item). token is the caller's NextToken/Marker or None; limit the page size;
    tag names the listing so a token from another listing is refused; bad_token is the
    AwsError raised for an invalid token. Returns (page, next_token or None). The token holds
    the key of the last item returned, so pages stay consistent while items are added or
    removed between calls, as AWS's opaque tokens do."""
    ordered = sorted(items, key=sort_key)
    start = 0
    if token:
        try:
            last = decode_token(tag, token)
        except ValueError:
            raise bad_token
        if isinstance(last, list):
            last = tuple(last)
        start = len(ordered)
        for i, item in enumerate(ordered):
            k = sort_key(item)
            if k > last:
                start = i
                break
    page = ordered[start:start + limit]
    nxt = None
    if start + limit < len(ordered):
        k = sort_key(page[-1])
        nxt = encode_token(tag, list(k) if isinstance(k, tuple) else k)
    return page, nxt


def check_limit(value, lo, hi, default, err):
    """Returns value (or default when None) after checking lo <= value <= hi; raises err
    otherwise."""
    if value is None:
        return default
    if value < lo or value > hi:
        raise err
    return value


def env_flag(name):
    return os.environ.get(name, '') not in ('', '0', 'false', 'no')

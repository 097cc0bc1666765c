#!/usr/bin/env python3
"""fake_aws: a scriptable local HTTP server for the AWS layer's engine and credential tests.

    fake_aws.py [--port 0]     prints "endpoint http://127.0.0.1:PORT" first, then serves.

Every request that is not a control request is checked and answered from a script:
  - its SigV4 signature is recomputed with botocore's SigV4Auth (an independent signer) when an
    Authorization header is present; a mismatch is answered 403 SignatureDoesNotMatch;
  - the answer is the next scripted response, else a built-in one (STS, IMDSv2, container
    credentials), else 200 "{}".
Control API (JSON):
  POST /_fake/script   [{"status":200,"headers":{...},"body":"...","delay":0.5,"reset":false,
                         "match":"substring of 'METHOD path?query body'"}...]  appends responses
  POST /_fake/reset    forgets the script and the log
  GET  /_fake/log      [{"method","path","query","headers","body","peer"}...]
  POST /_fake/creds    {"expiration_in": seconds} sets the lifetime of built-in credentials
Built-in endpoints:
  PUT  /latest/api/token                           IMDSv2 token (needs the TTL header)
  GET  /latest/meta-data/iam/security-credentials/ role name (needs the token header)
  GET  /latest/meta-data/iam/security-credentials/ROLE
  GET  /container-creds                            needs Authorization: container-token
  POST / Action=AssumeRole|AssumeRoleWithWebIdentity   STS (query protocol, XML answers)
"""
import argparse
import datetime
import http.server
import json
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SECRETS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
LOCK = threading.Lock()
STATE = {"script": [], "log": [], "expiration_in": 3600, "issued": 0}


def issue_creds():
    """New temporary credentials, registered so their signatures verify."""
    with LOCK:
        STATE["issued"] += 1
        n = STATE["issued"]
        life = STATE["expiration_in"]
    ak = "ASIATEMP%08d" % n
    sk = "tempsecret%030d" % n
    SECRETS[ak] = sk
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=life)
    return ak, sk, "TOKEN%dFwoGZXIvYXdzEJr//////////wEaDOPAQUESESSIONTOKEN" % n, \
        exp.strftime("%Y-%m-%dT%H:%M:%SZ")


def verify_sigv4(method, raw_path, headers, body):
    auth = headers.get("Authorization")
    if auth is None or not auth.startswith("AWS4-HMAC-SHA256 "):
        return None
    try:
        parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        ak, date, region, service, _ = parts["Credential"].split("/")
        signed = parts["SignedHeaders"].split(";")
    except Exception:
        return "malformed Authorization header"
    secret = SECRETS.get(ak)
    if secret is None:
        return "unknown access key"
    url = "http://" + headers.get("Host", "") + raw_path
    req = AWSRequest(method=method, url=url, data=body)
    for name in signed:
        if name not in ("host", "x-amz-date", "x-amz-security-token"):
            req.headers[name] = headers.get(name, "")
    amz_date = headers.get("X-Amz-Date", "")
    req.context["timestamp"] = amz_date
    token = headers.get("X-Amz-Security-Token")
    signer = SigV4Auth(Credentials(ak, secret, token), service, region)
    # add_auth would take the current time; sign at the request's own date instead.
    signer._modify_request_before_signing(req)
    del req.headers["X-Amz-Date"]
    req.headers["X-Amz-Date"] = amz_date
    cr = signer.canonical_request(req)
    sts = signer.string_to_sign(req, cr)
    if signer.signature(sts, req) != parts["Signature"]:
        return "signature mismatch; canonical request:\n" + cr
    return None


def sts_xml(action, creds):
    ak, sk, token, exp = creds
    return ("<{a}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{a}Result>"
            "<Credentials><AccessKeyId>{ak}</AccessKeyId><SecretAccessKey>{sk}</SecretAccessKey>"
            "<SessionToken>{tok}</SessionToken><Expiration>{exp}</Expiration></Credentials>"
            "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>"
            "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></{a}Result>"
            "<ResponseMetadata><RequestId>sts-req-1</RequestId></ResponseMetadata></{a}Response>"
            ).format(a=action, ak=ak, sk=sk, tok=token, exp=exp)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def handle_error(self, request, client_address):
        # Clients that hang up (cancelled calls, timeouts) are part of the tests.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body=b"", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        if path.startswith("/_fake/"):
            return self.control(path, body)
        entry = {"method": self.command, "path": path, "query": query,
                 "headers": dict(self.headers.items()), "body": body.decode("utf-8", "replace"),
                 "peer": "%s:%d" % self.client_address}
        with LOCK:
            STATE["log"].append(entry)
        problem = verify_sigv4(self.command, self.path, self.headers, body)
        if problem is not None:
            return self.send(403, "<ErrorResponse><Error><Type>Sender</Type><Code>"
                             "SignatureDoesNotMatch</Code><Message>%s</Message></Error>"
                             "<RequestId>sig-1</RequestId></ErrorResponse>"
                             % problem.replace("&", "&amp;").replace("<", "&lt;"),
                             {"Content-Type": "text/xml"})
        text = "%s %s?%s %s" % (self.command, path, query, entry["body"])
        step = None
        with LOCK:
            for i, s in enumerate(STATE["script"]):
                if s.get("match") is None or s["match"] in text:
                    step = STATE["script"].pop(i)
                    break
        if step is not None:
            if step.get("delay"):
                time.sleep(step["delay"])
            if step.get("reset"):
                # RST instead of an answer.
                self.connection.setsockopt(__import__("socket").SOL_SOCKET,
                                           __import__("socket").SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return None
            return self.send(step.get("status", 200), step.get("body", ""), step.get("headers"))
        return self.builtin(path, body)

    def builtin(self, path, body):
        if path == "/latest/api/token" and self.command == "PUT":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.send(400, "missing TTL")
            return self.send(200, "imds-token-123")
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != "imds-token-123":
                return self.send(401, "")
            role = path[len("/latest/meta-data/iam/security-credentials/"):]
            if not role:
                return self.send(200, "trimtab-node-role\n")
            ak, sk, token, exp = issue_creds()
            return self.send(200, json.dumps({"Code": "Success", "Type": "AWS-HMAC",
                                              "AccessKeyId": ak, "SecretAccessKey": sk,
                                              "Token": token, "Expiration": exp}))
        if path == "/container-creds":
            if self.headers.get("Authorization") != "container-token":
                return self.send(401, json.dumps({"message": "bad token"}))
            ak, sk, token, exp = issue_creds()
            return self.send(200, json.dumps({"AccessKeyId": ak, "SecretAccessKey": sk,
                                              "Token": token, "Expiration": exp}))
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = (form.get("Action") or [""])[0]
        if action in ("AssumeRole", "AssumeRoleWithWebIdentity"):
            if action == "AssumeRoleWithWebIdentity" and \
                    not (form.get("WebIdentityToken") or [""])[0]:
                return self.send(400, "<ErrorResponse><Error><Code>InvalidIdentityToken</Code>"
                                 "</Error></ErrorResponse>")
            return self.send(200, sts_xml(action, issue_creds()), {"Content-Type": "text/xml"})
        if action == "GetCallerIdentity":
            return self.send(200, "<GetCallerIdentityResponse><GetCallerIdentityResult>"
                             "<Account>123456789012</Account><Arn>arn:aws:iam::123456789012:"
                             "user/fake</Arn><UserId>AIDAFAKE</UserId></GetCallerIdentityResult>"
                             "</GetCallerIdentityResponse>", {"Content-Type": "text/xml"})
        return self.send(200, "{}", {"Content-Type": "application/x-amz-json-1.1"})

    def control(self, path, body):
        if path == "/_fake/script":
            with LOCK:
                STATE["script"].extend(json.loads(body or b"[]"))
            return self.send(200, "{}")
        if path == "/_fake/reset":
            with LOCK:
                STATE["script"].clear()
                STATE["log"].clear()
                STATE["expiration_in"] = 3600
            return self.send(200, "{}")
        if path == "/_fake/log":
            with LOCK:
                return self.send(200, json.dumps(STATE["log"]))
        if path == "/_fake/creds":
            with LOCK:
                STATE["expiration_in"] = json.loads(body)["expiration_in"]
            return self.send(200, "{}")
        return self.send(404, "")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    print("endpoint http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A stand-in of the few Kubernetes API calls EksPodOperator makes, for airtask's tests.

No Kubernetes cluster exists on the test machines, so tests/eks.rs runs this instead: an HTTPS
server on 127.0.0.1 (a certificate of its own CA, whose PEM the test gives to the local AWS
endpoint as the EKS cluster's certificate authority) that serves

    POST   /api/v1/namespaces/NS/pods              create a pod
    GET    /api/v1/namespaces/NS/pods/NAME         read it (its status)
    GET    /api/v1/namespaces/NS/pods/NAME/log     read its container's log (follow=true streams)
    DELETE /api/v1/namespaces/NS/pods/NAME         delete it

and refuses (401) any request whose bearer token is not an EKS token of the cluster: the
prefix `k8s-aws-v1.`, base64url without padding of a GET URL presigned with SigV4 for STS
GetCallerIdentity (Action, Version, X-Amz-Expires=60, signed headers `host;x-k8s-aws-id`),
whose signature this stand-in recomputes with the test's secret key and the cluster's name as
`x-k8s-aws-id`, as STS would verify it.

A pod "runs" by its image (there are no containers here):
- `standin/echo`: Pending (scheduled) for 0.5 s, Running for 1 s, then Succeeded (exit 0); its
  log is its `args`, one line each, then `env NAME=value` for each environment variable;
- `standin/fail`: the same, then Failed with exit code $EXIT_CODE (default 1) and the
  termination message `standin: failed on purpose`;
- `standin/sleep`: Running until deleted;
- `standin/badimage`: Pending, its container waiting with ErrImagePull;
- `standin/unschedulable`: Pending, never scheduled;
- `standin/stuck`: Pending, scheduled, its container creating forever.

Every request is appended to DIR/journal.jsonl (method, path, query, whether the token passed,
and the body of a create). Usage: k8s_standin.py --dir DIR --cluster NAME --secret KEY; it
writes DIR/ca.b64 (the CA's PEM in base64, as EKS's certificateAuthority.data) and then
DIR/port, and serves until SIGTERM. A test fixture of the project, never part of airtask.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import signal
import ssl
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
PENDING_SECONDS = 0.5
RUNNING_SECONDS = 1.0


def make_certificates(directory):
    """A CA and a server certificate for 127.0.0.1 signed by it; returns (cert, key) paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "airtask k8s stand-in CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "server.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return ca_pem, cert_path, key_path


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def check_token(header, cluster, secret):
    """None when `header` carries a valid EKS token of `cluster`, else why not."""
    if not header.startswith("Bearer "):
        return "no bearer token"
    token = header[len("Bearer ") :]
    prefix = "k8s-aws-v1."
    if not token.startswith(prefix):
        return "the token lacks the k8s-aws-v1. prefix"
    b64 = token[len(prefix) :]
    if "=" in b64:
        return "the token's base64 has padding"
    try:
        url = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()
    except Exception as e:  # noqa: BLE001
        return f"the token is not base64url: {e}"
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    q = {k: v[0] for k, v in query.items()}
    if parts.path not in ("", "/"):
        return f"the URL's path is {parts.path}"
    want = {
        "Action": "GetCallerIdentity",
        "Version": "2011-06-15",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Expires": "60",
        "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
    }
    for k, v in want.items():
        if q.get(k) != v:
            return f"the URL's {k} is {q.get(k)!r}, not {v!r}"
    try:
        akid, date, region, service, term = q["X-Amz-Credential"].split("/")
    except (KeyError, ValueError):
        return "the URL has no valid X-Amz-Credential"
    if service != "sts" or term != "aws4_request":
        return f"the credential scope is {q['X-Amz-Credential']}"
    amz_date = q.get("X-Amz-Date", "")
    try:
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
    except ValueError:
        return f"X-Amz-Date {amz_date!r} is not a date"
    age = (datetime.datetime.now(datetime.timezone.utc) - signed_at).total_seconds()
    if age > 15 * 60 or age < -300:
        return f"the token is {age:.0f} s old (EKS accepts 15 minutes)"
    canonical_query = "&".join(
        f"{_quote(k)}={_quote(v)}"
        for k, v in sorted((k, v) for k, v in q.items() if k != "X-Amz-Signature")
    )
    canonical = "\n".join(
        [
            "GET",
            "/",
            canonical_query,
            f"host:{parts.netloc}",
            f"x-k8s-aws-id:{cluster}",
            "",
            "host;x-k8s-aws-id",
            EMPTY_SHA256,
        ]
    )
    scope = f"{date}/{region}/sts/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, "sts", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, q.get("X-Amz-Signature", "")):
        return f"the signature does not verify for cluster {cluster} and key id {akid}"
    return None


class Pods:
    """The pods, by (namespace, name), with their creation times."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pods = {}

    def status(self, pod):
        spec = pod["spec"]["containers"][0]
        image = spec.get("image", "")
        container = spec.get("name", "base")
        age = time.time() - pod["_created"]
        env = {e["name"]: e.get("value", "") for e in spec.get("env", [])}
        scheduled = {"type": "PodScheduled", "status": "True"}
        if image == "standin/unschedulable":
            return {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]}
        if image == "standin/badimage":
            return {
                "phase": "Pending",
                "conditions": [scheduled],
                "containerStatuses": [
                    {
                        "name": container,
                        "image": image,
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {
                            "waiting": {
                                "reason": "ErrImagePull",
                                "message": f"pull access denied for {image}",
                            }
                        },
                    }
                ],
            }
        if age < PENDING_SECONDS or image == "standin/stuck":
            state = {"waiting": {"reason": "ContainerCreating"}}
            phase = "Pending"
        elif image == "standin/sleep" or age < PENDING_SECONDS + RUNNING_SECONDS:
            state = {"running": {"startedAt": "2025-03-09T00:00:00Z"}}
            phase = "Running"
        else:
            failed = image == "standin/fail"
            code = int(env.get("EXIT_CODE", "1")) if failed else 0
            terminated = {
                "exitCode": code,
                "reason": "Error" if failed else "Completed",
                "finishedAt": "2025-03-09T00:00:02Z",
            }
            if failed:
                terminated["message"] = "standin: failed on purpose"
            state = {"terminated": terminated}
            phase = "Failed" if failed else "Succeeded"
        return {
            "phase": phase,
            "conditions": [scheduled],
            "containerStatuses": [
                {
                    "name": container,
                    "image": image,
                    "imageID": "",
                    "ready": phase == "Running",
                    "restartCount": 0,
                    "state": state,
                }
            ],
        }

    def view(self, pod):
        out = {k: v for k, v in pod.items() if not k.startswith("_")}
        out["status"] = self.status(pod)
        return out

    def log_lines(self, pod):
        spec = pod["spec"]["containers"][0]
        lines = list(spec.get("args", []))
        lines += [f"env {e['name']}={e.get('value', '')}" for e in spec.get("env", [])]
        return lines


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k8s-standin"

    def log_message(self, *args):  # quiet
        pass

    def _journal(self, entry):
        with self.server.journal_lock:
            with open(self.server.journal, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code, reason, message):
        self._send(
            code,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "reason": reason,
                "code": code,
            },
        )

    def _route(self, method):
        parts = urllib.parse.urlsplit(self.path)
        segs = [s for s in parts.path.split("/") if s]
        body = None
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = json.loads(self.rfile.read(length))
        denied = check_token(
            self.headers.get("Authorization", ""), self.server.cluster, self.server.secret
        )
        entry = {"method": method, "path": parts.path, "query": parts.query, "auth": denied or "ok"}
        if method == "POST":
            entry["body"] = body
        self._journal(entry)
        if denied:
            return self._status(401, "Unauthorized", f"Unauthorized: {denied}")
        if len(segs) < 5 or segs[:3] != ["api", "v1", "namespaces"] or segs[4] != "pods":
            return self._status(404, "NotFound", f"the stand-in does not serve {parts.path}")
        ns = segs[3]
        pods = self.server.pods
        if method == "POST" and len(segs) == 5:
            name = body["metadata"]["name"]
            with pods.lock:
                if (ns, name) in pods.pods:
                    return self._status(409, "AlreadyExists", f'pods "{name}" already exists')
                pod = dict(body)
                pod["metadata"] = dict(body["metadata"], uid=os.urandom(8).hex(), namespace=ns)
                pod["_created"] = time.time()
                pods.pods[(ns, name)] = pod
                return self._send(201, pods.view(pod))
        if len(segs) < 6:
            return self._status(405, "MethodNotAllowed", f"{method} {parts.path}")
        name = segs[5]
        with pods.lock:
            pod = pods.pods.get((ns, name))
        if pod is None:
            return self._status(404, "NotFound", f'pods "{name}" not found')
        if method == "GET" and len(segs) == 6:
            return self._send(200, pods.view(pod))
        if method == "DELETE" and len(segs) == 6:
            with pods.lock:
                pods.pods.pop((ns, name), None)
            return self._send(200, pods.view(pod))
        if method == "GET" and len(segs) == 7 and segs[6] == "log":
            return self._log(pod, urllib.parse.parse_qs(parts.query))
        return self._status(405, "MethodNotAllowed", f"{method} {parts.path}")

    def _log(self, pod, query):
        pods = self.server.pods
        status = pods.status(pod)
        state = status.get("containerStatuses", [{}])[0].get("state", {})
        if "waiting" in state or "containerStatuses" not in status:
            return self._status(400, "BadRequest", "container base is waiting to start")
        follow = query.get("follow", ["false"])[0] == "true"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data):
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        for line in pods.log_lines(pod):
            chunk((line + "\n").encode())
        if follow:
            while True:
                with pods.lock:
                    alive = any(p is pod for p in pods.pods.values())
                st = pods.status(pod)
                if not alive or st["phase"] in ("Succeeded", "Failed"):
                    break
                time.sleep(0.1)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    ca_pem, cert, key = make_certificates(args.dir)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.cluster = args.cluster
    server.secret = args.secret
    server.pods = Pods()
    server.journal = os.path.join(args.dir, "journal.jsonl")
    server.journal_lock = threading.Lock()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(args.dir, "ca.b64"), "w", encoding="ascii") as f:
        f.write(base64.b64encode(ca_pem).decode())
    fd, tmp = tempfile.mkstemp(dir=args.dir)
    with os.fdopen(fd, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, os.path.join(args.dir, "port"))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == "__main__":
    main()

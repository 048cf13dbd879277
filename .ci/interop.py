"""Interoperability with PyJWT, the library Simple JWT signs and checks tokens with.

Starts the jwtd binary given as argv[1] and checks, over HTTP:
  * HS256: jwtd's tokens decode with PyJWT and the shared key and carry Simple JWT's claims;
    a token made by PyJWT with that key and Simple JWT's claims is accepted;
  * RS256 and ES256: a downstream service holding nothing but jwtd's jwks_uri verifies
    jwtd's tokens with PyJWT's PyJWKClient (found through the discovery document);
  * /api/schema/ is a valid OpenAPI 3.1 document (openapi-spec-validator).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

import jwt

KEY = "interop-check-signing-key-0123456789abcdef0123"


def start(binary, workdir, env):
    proc = subprocess.Popen(
        [binary], cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    found = {}
    ready = threading.Event()

    def read():
        for line in proc.stderr:
            if "listening on http://" in line and not ready.is_set():
                found["addr"] = line.split("listening on http://")[1].split()[0]
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60) or "addr" not in found:
        proc.kill()
        sys.exit("jwtd did not start")
    return proc, "http://" + found["addr"]


def call(base, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def check(condition, message):
    if not condition:
        sys.exit("FAILED: " + message)
    print("ok:", message)


def environment(workdir, **settings):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "JWTD__BIND": "127.0.0.1:0",
        "JWTD__DATA_DIR": os.path.join(workdir, "data"),
    }
    env.update({"JWTD__" + k.upper(): v for k, v in settings.items()})
    return env


def check_hs256(binary):
    with tempfile.TemporaryDirectory() as workdir:
        env = environment(workdir, signing_key=KEY)
        subprocess.run(
            [binary, "user", "create", "alice", "--password", "alice-password-1"],
            cwd=workdir, env=env, check=True, stdout=subprocess.DEVNULL,
        )
        proc, base = start(binary, workdir, env)
        try:
            status, pair = call(base, "POST", "/api/token/", {"username": "alice", "password": "alice-password-1"})
            check(status == 200, "jwtd issues a pair")
            for kind in ("access", "refresh"):
                claims = jwt.decode(pair[kind], KEY, algorithms=["HS256"])
                check(claims["token_type"] == kind, f"PyJWT decodes jwtd's {kind} token")
                check(claims["user_id"] == "1" and len(claims["jti"]) == 32, f"{kind} token has Simple JWT's claims")
            now = int(time.time())
            forged = jwt.encode(
                {"token_type": "access", "exp": now + 300, "iat": now, "jti": uuid.uuid4().hex, "user_id": "1"},
                KEY,
                algorithm="HS256",
            )
            status, _ = call(base, "POST", "/api/token/verify/", {"token": forged})
            check(status == 200, "jwtd verifies a PyJWT token with Simple JWT's claims")
            status, me = call(base, "GET", "/api/me/", token=forged)
            check(status == 200 and me["username"] == "alice", "jwtd authenticates with a PyJWT token")
            status, _ = call(base, "POST", "/api/token/verify/", {"token": jwt.encode({"exp": now + 60, "jti": "x"}, "x" * 32, algorithm="HS256")})
            check(status == 401, "jwtd refuses a PyJWT token signed with another key")
            status, schema = call(base, "GET", "/api/schema/")
            check(status == 200 and schema["openapi"].startswith("3.1"), "jwtd serves an OpenAPI 3.1 document")
            from openapi_spec_validator import validate
            validate(schema)
            check(len(schema["paths"]) >= 13, "the OpenAPI document is valid and describes every endpoint")
        finally:
            proc.terminate()
            proc.wait(10)


def check_jwks(binary, alg):
    with tempfile.TemporaryDirectory() as workdir:
        out = subprocess.run(
            [binary, "key", "generate", "--alg", alg, "--out", os.path.join(workdir, "keys")],
            cwd=workdir, env=environment(workdir), check=True, capture_output=True, text=True,
        ).stdout
        key_file = out.split("JWTD__SIGNING_KEY=")[1].splitlines()[0]
        env = environment(workdir, algorithm=alg, signing_key=key_file)
        subprocess.run(
            [binary, "user", "create", "alice", "--password", "alice-password-1"],
            cwd=workdir, env=env, check=True, stdout=subprocess.DEVNULL,
        )
        proc, base = start(binary, workdir, env)
        try:
            status, pair = call(base, "POST", "/api/token/", {"username": "alice", "password": "alice-password-1"})
            check(status == 200, f"{alg}: jwtd issues a pair")
            status, discovery = call(base, "GET", "/.well-known/openid-configuration")
            check(status == 200 and discovery["jwks_uri"].endswith("/.well-known/jwks.json"), f"{alg}: discovery names the jwks_uri")
            client = jwt.PyJWKClient(discovery["jwks_uri"])
            for kind in ("access", "refresh"):
                signing_key = client.get_signing_key_from_jwt(pair[kind])
                claims = jwt.decode(pair[kind], signing_key.key, algorithms=[alg])
                check(claims["token_type"] == kind and claims["user_id"] == "1", f"{alg}: PyJWKClient verifies jwtd's {kind} token")
            check(alg in discovery["id_token_signing_alg_values_supported"], f"{alg}: discovery lists the algorithm")
        finally:
            proc.terminate()
            proc.wait(10)


def main():
    binary = os.path.abspath(sys.argv[1])
    check_hs256(binary)
    for alg in ("RS256", "ES256"):
        check_jwks(binary, alg)


if __name__ == "__main__":
    main()

"""Who may call, with tokens made the way Python services make them: PyJWT
signs RS256, ES256 and EdDSA tokens with keys from `cryptography`, the JWKS
file is written from PyJWT's own JWK export, and grpcio clients read the
refusals' ErrorInfo with grpcio-status."""
import json
import tempfile
import time
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conftest import Server
from directory_stubs import error_details

ISSUER = "https://issuer.interop.test"
AUDIENCE = "user-service"


def make_keys():
    """(kid, algorithm, private key) for each accepted algorithm family."""
    return [
        ("rsa-1", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1())),
        ("ed-1", "EdDSA", ed25519.Ed25519PrivateKey.generate()),
    ]


def jwk_of(kid, algorithm, key):
    jwk = json.loads(jwt.get_algorithm_by_name(algorithm).to_jwk(key.public_key()))
    jwk.update(kid=kid, alg=algorithm, use="sig")
    return jwk


@pytest.fixture(scope="module")
def secured():
    keys = make_keys()
    folder = tempfile.TemporaryDirectory(prefix="user-service-jwks-")
    jwks_file = Path(folder.name) / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk_of(*key) for key in keys]}))
    running = Server(extra_env={
        "USER_SERVICE__AUTH__MODE": "jwt",
        "USER_SERVICE__AUTH__JWKS_FILE": str(jwks_file),
        "USER_SERVICE__AUTH__ISSUER": ISSUER,
        "USER_SERVICE__AUTH__AUDIENCES": AUDIENCE,
    })
    yield running, keys
    code = running.stop()
    folder.cleanup()
    assert code == 0, running.logs()


def token(key, scope, **overrides):
    kid, algorithm, private = key
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "py-client", "iat": now,
              "exp": now + 300, "scope": scope, **overrides}
    return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid})


def list_user(server, user_stubs, bearer=None):
    user_pb2, user_pb2_grpc = user_stubs
    metadata = [("authorization", f"Bearer {bearer}")] if bearer else []
    with grpc.insecure_channel(server.target) as channel:
        stub = user_pb2_grpc.UsersStub(channel)
        return stub.ListUser(user_pb2.UserRequest(id=2, name="twtrubiks"), metadata=metadata, timeout=10)


def refusal(call):
    with pytest.raises(grpc.RpcError) as raised:
        call()
    info, _ = error_details(raised.value)
    assert info is not None and info.domain == "user-service", raised.value
    return raised.value.code(), info.reason, dict(info.metadata)


def test_tokens_signed_by_pyjwt_with_each_algorithm_are_accepted(secured, user_stubs):
    server, keys = secured
    for key in keys:
        answer = list_user(server, user_stubs, token(key, "users.read"))
        assert [detail.value for detail in answer.details] == ["twtrubiks", "twtrubiks"], key[1]


def test_missing_expired_and_foreign_tokens_are_unauthenticated(secured, user_stubs):
    server, keys = secured
    code, reason, _ = refusal(lambda: list_user(server, user_stubs))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
    expired = token(keys[0], "users.read", exp=int(time.time()) - 3600)
    code, reason, _ = refusal(lambda: list_user(server, user_stubs, expired))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")
    foreign = token(keys[1], "users.read", iss="https://someone-else.test")
    code, reason, _ = refusal(lambda: list_user(server, user_stubs, foreign))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")


def test_writes_need_users_write(secured, directory_stubs):
    server, keys = secured
    pb2, pb2_grpc = directory_stubs
    request = pb2.CreateUserRequest(user=pb2.User(email="py-auth@example.com"))
    with grpc.insecure_channel(server.target) as channel:
        stub = pb2_grpc.UserServiceStub(channel)
        read_only = [("authorization", f"Bearer {token(keys[2], 'users.read')}")]
        code, reason, metadata = refusal(lambda: stub.CreateUser(request, metadata=read_only, timeout=10))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "INSUFFICIENT_SCOPE")
        assert metadata == {"scope": "users.write"}
        writer = [("authorization", f"Bearer {token(keys[2], 'users.read users.write')}")]
        created = stub.CreateUser(request, metadata=writer, timeout=10)
        assert created.email == "py-auth@example.com"

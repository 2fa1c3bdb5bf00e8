"""Keys, a JWKS file and tokens for the authentication benchmarks
(bench/instructions.py): one key per accepted algorithm family, signed with
PyJWT (tests/interop/requirements.txt). Issuer and audience match
examples/auth_cost.rs."""
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ISSUER = "https://bench.issuer"
AUDIENCE = "user-service"


def make_keys():
    """{algorithm: (kid, private key)}."""
    return {
        "RS256": ("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ES256": ("ec-1", ec.generate_private_key(ec.SECP256R1())),
        "EdDSA": ("ed-1", ed25519.Ed25519PrivateKey.generate()),
    }


def write_jwks(path, keys):
    documents = []
    for algorithm, (kid, private) in keys.items():
        jwk = json.loads(jwt.get_algorithm_by_name(algorithm).to_jwk(private.public_key()))
        jwk.update(kid=kid, alg=algorithm, use="sig")
        documents.append(jwk)
    with open(path, "w") as f:
        json.dump({"keys": documents}, f)


def token(keys, algorithm, scope="users.read users.write"):
    """A token valid for an hour; each one distinct (its own jti)."""
    kid, private = keys[algorithm]
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "iat": now, "exp": now + 3600,
              "scope": scope, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid})

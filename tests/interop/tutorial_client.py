#!/usr/bin/env python3
"""The original Python client of the Users service, unchanged in behaviour:
one ListUser call over an insecure channel, the answer printed as it is.

usage: tutorial_client.py [--target localhost:50051] [--id 2] [--name twtrubiks]
Stubs are generated from proto/user.proto at start (grpcio-tools).
"""
import argparse
import importlib
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_stubs(proto):
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="user_stubs_")
    args = ["protoc", f"-I{os.path.dirname(proto)}", f"--python_out={out}", f"--grpc_python_out={out}", proto]
    if protoc.main(args) != 0:
        sys.exit(f"cannot compile {proto}")
    sys.path.insert(0, out)
    return importlib.import_module("user_pb2"), importlib.import_module("user_pb2_grpc")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--id", type=int, default=2)
    parser.add_argument("--name", default="twtrubiks")
    parser.add_argument("--proto", default=os.path.join(ROOT, "proto", "user.proto"))
    args = parser.parse_args()

    import grpc

    user_pb2, user_pb2_grpc = load_stubs(os.path.abspath(args.proto))
    with grpc.insecure_channel(args.target) as channel:
        stub = user_pb2_grpc.UsersStub(channel)
        try:
            response = stub.ListUser(user_pb2.UserRequest(id=args.id, name=args.name), timeout=10)
        except grpc.RpcError as err:
            print(f"error: {err.code().name}: {err.details()}")
            return 1
        print(response)
    return 0


if __name__ == "__main__":
    sys.exit(main())

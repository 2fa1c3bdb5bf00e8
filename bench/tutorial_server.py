#!/usr/bin/env python3
"""The Python tutorial's server, for benchmarks: grpcio with a
ThreadPoolExecutor(max_workers=10), the same ListUser answer.

usage: tutorial_server.py [--port 50071] [--proto proto/user.proto]
"""
import argparse
import importlib
import os
import sys
import tempfile
from concurrent import futures


def load_stubs(proto_path):
    from grpc_tools import protoc

    proto_path = os.path.abspath(proto_path)
    out_dir = tempfile.mkdtemp(prefix="user_stubs_")
    if protoc.main(["protoc", f"-I{os.path.dirname(proto_path)}", f"--python_out={out_dir}",
                    f"--grpc_python_out={out_dir}", proto_path]) != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out_dir)
    return importlib.import_module("user_pb2"), importlib.import_module("user_pb2_grpc")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=50071)
    parser.add_argument("--proto", default="proto/user.proto")
    args = parser.parse_args()

    import grpc

    pb2, pb2_grpc = load_stubs(args.proto)

    class Users(pb2_grpc.UsersServicer):
        def ListUser(self, request, context):
            if request.id == 0:
                context.abort(grpc.StatusCode.NOT_FOUND, "Sorry, id is not allowed 0")
            detail = pb2.Detail(id=request.id, value=request.name)
            return pb2.UserResponse(details=[detail, detail])

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    pb2_grpc.add_UsersServicer_to_server(Users(), server)
    server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()

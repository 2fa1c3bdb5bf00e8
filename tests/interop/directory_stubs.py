"""Python stubs of user.v1.UserService, compiled from
proto/user/v1/user_service.proto at run time with grpcio-tools (the
google.protobuf well-known types come from grpc_tools' own include folder),
and the google.rpc details of a failed call, read with grpcio-status.
Shared by the interop tests and the deployment tests."""
import importlib
import importlib.resources
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_ROOT = os.path.join(ROOT, "proto")
PROTO = "user/v1/user_service.proto"
_loaded = {}


def load():
    """(user_service_pb2, user_service_pb2_grpc), compiled once per process."""
    if not _loaded:
        from grpc_tools import protoc

        well_known = str(importlib.resources.files("grpc_tools") / "_proto")
        out = tempfile.mkdtemp(prefix="user_v1_stubs_")
        args = ["protoc", f"-I{PROTO_ROOT}", f"-I{well_known}",
                f"--python_out={out}", f"--grpc_python_out={out}", PROTO]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc could not compile {PROTO}")
        # Generated as the packages user.v1 (namespace packages: no __init__.py).
        sys.path.insert(0, out)
        _loaded["pb2"] = importlib.import_module("user.v1.user_service_pb2")
        _loaded["grpc"] = importlib.import_module("user.v1.user_service_pb2_grpc")
    return _loaded["pb2"], _loaded["grpc"]


def error_details(error):
    """The google.rpc.Status details of a failed call: (ErrorInfo or None,
    [(field, description)] from BadRequest)."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(error)
    assert status is not None, f"no grpc-status-details-bin on {error.code()}: {error.details()}"
    assert status.code == error.code().value[0]
    info, violations = None, []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations += [(v.field, v.description) for v in bad.field_violations]
    return info, violations

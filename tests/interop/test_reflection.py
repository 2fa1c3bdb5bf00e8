"""Server reflection through grpcio-reflection (v1alpha) and raw v1 calls."""
import grpc
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

SERVICES = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "user.Users",
    "user.v1.UserService",
]
V1_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


def test_grpcio_reflection_lists_every_service(channel):
    database = ProtoReflectionDescriptorDatabase(channel)
    assert sorted(database.get_services()) == SERVICES


def test_grpcio_reflection_describes_list_user(channel):
    pool = DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    service = pool.FindServiceByName("user.Users")
    method = service.FindMethodByName("ListUser")
    assert method.input_type.full_name == "user.UserRequest"
    assert method.output_type.full_name == "user.UserResponse"


def ask_v1(channel, request):
    # v1 and v1alpha messages are the same on the wire; only the path differs.
    call = channel.stream_stream(
        V1_METHOD,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    return next(call(iter([request]), timeout=10))


def test_reflection_v1_lists_every_service(channel):
    answer = ask_v1(channel, reflection_pb2.ServerReflectionRequest(list_services=""))
    assert sorted(service.name for service in answer.list_services_response.service) == SERVICES


def test_reflection_v1_finds_the_file_containing_user_users(channel):
    answer = ask_v1(channel, reflection_pb2.ServerReflectionRequest(file_containing_symbol="user.Users"))
    files = [descriptor_pb2.FileDescriptorProto.FromString(raw)
             for raw in answer.file_descriptor_response.file_descriptor_proto]
    user_file = next(f for f in files if f.package == "user")
    assert [s.name for s in user_file.service] == ["Users"]
    assert [m.name for m in user_file.service[0].method] == ["ListUser"]

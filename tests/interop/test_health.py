"""grpc.health.v1 through grpcio-health-checking, including the shutdown sequence."""
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import Server

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


def check(channel, service):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=10)


@pytest.mark.parametrize("service", ["", "user.Users"])
def test_check_reports_serving(channel, service):
    assert check(channel, service).status == SERVING


def test_check_on_an_unknown_service_is_not_found(channel):
    with pytest.raises(grpc.RpcError) as raised:
        check(channel, "user.Accounts")
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_watch_starts_with_serving(channel):
    updates = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service="user.Users"), timeout=10)
    assert next(updates).status == SERVING
    updates.cancel()


def test_watch_on_an_unknown_service_sends_service_unknown_and_stays_open(channel):
    updates = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service="user.Accounts"), timeout=2)
    assert next(updates).status == SERVICE_UNKNOWN
    # Nothing more arrives and the stream does not end: only our deadline closes it.
    with pytest.raises(grpc.RpcError) as raised:
        next(updates)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_sigterm_flips_watch_to_not_serving_and_serves_through_the_grace_period(user_stubs):
    user_pb2, user_pb2_grpc = user_stubs
    server = Server(grace_period="3s")
    try:
        with grpc.insecure_channel(server.target) as channel:
            updates = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=15)
            assert next(updates).status == SERVING
            server.terminate()
            assert next(updates).status == NOT_SERVING
            answer = user_pb2_grpc.UsersStub(channel).ListUser(user_pb2.UserRequest(id=5, name="grace"), timeout=5)
            assert len(answer.details) == 2
            assert check(channel, "").status == NOT_SERVING
        assert server.exit_code() == 0, server.logs()
    finally:
        server.stop()

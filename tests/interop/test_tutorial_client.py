"""The original client's calls and output, byte for byte."""
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

CLIENT = Path(__file__).resolve().parent / "tutorial_client.py"
TUTORIAL_OUTPUT = 'details {\n  id: 2\n  value: "twtrubiks"\n}\ndetails {\n  id: 2\n  value: "twtrubiks"\n}\n\n'


def run_client(server, *args):
    return subprocess.run([sys.executable, str(CLIENT), "--target", server.target, *args],
                          capture_output=True, text=True, timeout=60)


def test_the_tutorial_client_prints_exactly_the_tutorial_answer(server):
    result = run_client(server)
    assert result.returncode == 0, result.stderr
    assert result.stdout == TUTORIAL_OUTPUT


def test_the_tutorial_client_gets_not_found_for_id_zero(server):
    result = run_client(server, "--id", "0")
    assert result.returncode == 1
    assert result.stdout == "error: NOT_FOUND: Sorry, id is not allowed 0\n"


def test_id_zero_is_not_found_with_the_exact_message(channel, user_stubs):
    user_pb2, user_pb2_grpc = user_stubs
    with pytest.raises(grpc.RpcError) as raised:
        user_pb2_grpc.UsersStub(channel).ListUser(user_pb2.UserRequest(id=0, name="x"), timeout=10)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.details() == "Sorry, id is not allowed 0"


@pytest.mark.parametrize("user_id, name", [(-1, "negative"), (2147483647, "max"), (7, ""), (8, "名前 ünï 🚀")])
def test_list_user_returns_two_identical_entries(channel, user_stubs, user_id, name):
    user_pb2, user_pb2_grpc = user_stubs
    answer = user_pb2_grpc.UsersStub(channel).ListUser(user_pb2.UserRequest(id=user_id, name=name), timeout=10)
    expected = user_pb2.Detail(id=user_id, value=name)
    assert list(answer.details) == [expected, expected]

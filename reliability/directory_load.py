"""Mixed directory traffic (user.v1.UserService) for the PostgreSQL scenarios,
with every acknowledged write remembered so the run can check none was lost.

Each worker owns its users (so its writes never race another worker's): per
call it creates a user (30 %, with a request_id, as a retrying client would),
updates one of its users' display_name (20 %), or reads one back with GetUser
(50 %), checking the answer against what it last acknowledged. A user whose
update failed is dropped from the checks (the write may or may not have
happened: the client cannot know).
"""
import os
import random
import sys
import uuid

import grpc

from load import Load

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "interop"))
import directory_stubs  # noqa: E402  (the shared user.v1 stubs)


class DirectoryLoad(Load):
    def __init__(self, channel, **kwargs):
        super().__init__(channel, **kwargs)
        self.pb2, pb2_grpc = directory_stubs.load()
        self.users = pb2_grpc.UserServiceStub(channel)
        # Per worker: {name: display_name last acknowledged}.
        self.acknowledged = [dict() for _ in range(kwargs.get("workers", 8))]
        self._random = [random.Random(n) for n in range(kwargs.get("workers", 8))]

    def call(self, worker):
        mine, pick = self.acknowledged[worker], self._random[worker]
        roll = pick.random()
        try:
            if not mine or roll < 0.3:
                user = self.pb2.User(email=f"{uuid.uuid4().hex}@example.com", display_name="v0")
                created = self.users.CreateUser(self.pb2.CreateUserRequest(
                    user=user, request_id=str(uuid.uuid4())), timeout=self.timeout)
                mine[created.name] = created.display_name
            elif roll < 0.5:
                name = pick.choice(list(mine))
                value = f"v{pick.randrange(1_000_000)}"
                user = self.pb2.User(name=name, display_name=value)
                request = self.pb2.UpdateUserRequest(user=user)
                request.update_mask.paths.append("display_name")
                try:
                    self.users.UpdateUser(request, timeout=self.timeout)
                except grpc.RpcError:
                    # It may or may not have been applied: no longer checked.
                    del mine[name]
                    raise
                mine[name] = value
            else:
                name = pick.choice(list(mine))
                got = self.users.GetUser(self.pb2.GetUserRequest(name=name), timeout=self.timeout)
                if got.display_name != mine[name]:
                    return -1, f"{name}: read {got.display_name!r}, acknowledged {mine[name]!r}"
        except grpc.RpcError as error:
            return error.code().value[0], f"{error.code().name}: {error.details()}"
        return 0, None

    def lost_writes(self, stub=None):
        """Acknowledged writes not found as acknowledged: [(name, expected, found)]."""
        stub = stub or self.users
        lost = []
        for mine in self.acknowledged:
            for name, value in mine.items():
                try:
                    found = stub.GetUser(self.pb2.GetUserRequest(name=name), timeout=10).display_name
                except grpc.RpcError as error:
                    found = error.code().name
                if found != value:
                    lost.append((name, value, found))
        return lost

    def writes(self):
        return sum(len(mine) for mine in self.acknowledged)

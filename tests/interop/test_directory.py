"""user.v1.UserService through a grpcio client compiled from the proto at run
time, against the real binary on a temporary SQLite store: create, get, page
through a list, update with a mask and an etag, delete, undelete, and the
google.rpc details (ErrorInfo reasons, BadRequest fields) read with grpcio-status."""
import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from directory_stubs import error_details

DOMAIN = "user-service"
THIRTY_DAYS = 30 * 24 * 3600


@pytest.fixture
def api(channel, directory_stubs):
    pb2, pb2_grpc = directory_stubs
    return pb2, pb2_grpc.UserServiceStub(channel)


def unique(prefix):
    """Ids and emails no other test of this session uses (the server is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(api, user_id="", email=None, display_name="", **fields):
    pb2, stub = api
    user = pb2.User(email=email or f"{unique('u')}@example.com", display_name=display_name)
    return stub.CreateUser(pb2.CreateUserRequest(user=user, user_id=user_id, **fields), timeout=10)


def failure(call):
    """Runs `call`, which must fail; returns (code, ErrorInfo, BadRequest fields)."""
    with pytest.raises(grpc.RpcError) as raised:
        call()
    info, violations = error_details(raised.value)
    assert info is not None and info.domain == DOMAIN, raised.value
    return raised.value.code(), info.reason, [field for field, _ in violations]


def test_create_then_get(api):
    pb2, stub = api
    user_id = unique("ada")
    created = create(api, user_id, email=f"{user_id}@Example.com", display_name="Ada Lovelace")
    assert created.name == f"users/{user_id}"
    assert uuid.UUID(created.uid).version == 4
    assert created.email == f"{user_id}@Example.com"  # stored as given
    assert created.state == pb2.User.ACTIVE
    assert created.create_time.seconds > 0 and created.update_time == created.create_time
    assert created.etag and not created.HasField("delete_time")
    assert stub.GetUser(pb2.GetUserRequest(name=created.name), timeout=10) == created


def test_the_server_picks_an_id_and_a_request_id_creates_once(api):
    request_id = str(uuid.uuid4())
    email = f"{unique('once')}@example.com"
    first = create(api, email=email, request_id=request_id)
    assert uuid.UUID(first.name.removeprefix("users/"))
    # The same request again (say its answer was lost): the same user, not a second one.
    assert create(api, email=email, request_id=request_id) == first


def test_page_through_five_users_two_at_a_time(api):
    pb2, stub = api
    batch = unique("batch")
    made = [create(api, display_name=batch).name for _ in range(5)]
    request = pb2.ListUsersRequest(page_size=2, filter=f'display_name = "{batch}"')
    pages, token = [], ""
    for _ in range(10):  # bounded: three pages are expected
        page = stub.ListUsers(pb2.ListUsersRequest(page_size=2, page_token=token, filter=request.filter),
                              timeout=10)
        pages.append([u.name for u in page.users])
        token = page.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    # Ordered by create_time (the default), each user once.
    assert [name for page in pages for name in page] == made

    first = stub.ListUsers(request, timeout=10)
    changed = pb2.ListUsersRequest(page_size=2, page_token=first.next_page_token, filter='state = ACTIVE')
    assert failure(lambda: stub.ListUsers(changed, timeout=10)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "PAGE_TOKEN_MISMATCH", ["page_token"])
    token, middle = first.next_page_token, len(first.next_page_token) // 2
    forged = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    tampered = pb2.ListUsersRequest(page_size=2, page_token=forged, filter=request.filter)
    assert failure(lambda: stub.ListUsers(tampered, timeout=10)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", ["page_token"])


def test_update_with_a_mask_and_an_etag(api):
    pb2, stub = api
    user = create(api, unique("grace"), display_name="Grace")
    change = pb2.User(name=user.name, display_name="Grace Hopper", email="ignored@example.com", etag=user.etag)
    mask = field_mask_pb2.FieldMask(paths=["display_name"])
    updated = stub.UpdateUser(pb2.UpdateUserRequest(user=change, update_mask=mask), timeout=10)
    assert updated.display_name == "Grace Hopper"
    assert updated.email == user.email  # not in the mask: untouched
    assert updated.etag != user.etag and updated.uid == user.uid
    assert updated.update_time.ToNanoseconds() > user.update_time.ToNanoseconds()

    # The first etag is stale now: optimistic concurrency refuses the write.
    stale = pb2.UpdateUserRequest(user=pb2.User(name=user.name, display_name="Lost", etag=user.etag),
                                  update_mask=mask)
    assert failure(lambda: stub.UpdateUser(stale, timeout=10))[:2] == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
    assert stub.GetUser(pb2.GetUserRequest(name=user.name), timeout=10) == updated

    output_only = pb2.UpdateUserRequest(user=pb2.User(name=user.name),
                                        update_mask=field_mask_pb2.FieldMask(paths=["uid"]))
    code, reason, fields = failure(lambda: stub.UpdateUser(output_only, timeout=10))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT") and fields


def test_delete_then_undelete(api):
    pb2, stub = api
    user = create(api, unique("linus"))
    deleted = stub.DeleteUser(pb2.DeleteUserRequest(name=user.name, etag=user.etag), timeout=10)
    assert deleted.state == pb2.User.DELETED
    assert deleted.purge_time.seconds - deleted.delete_time.seconds == THIRTY_DAYS
    # Still readable, but listed only with show_deleted.
    assert stub.GetUser(pb2.GetUserRequest(name=user.name), timeout=10) == deleted
    only_it = f'email = "{user.email}"'
    assert not stub.ListUsers(pb2.ListUsersRequest(filter=only_it), timeout=10).users
    listed = stub.ListUsers(pb2.ListUsersRequest(filter=only_it, show_deleted=True), timeout=10).users
    assert [u.name for u in listed] == [user.name]

    again = pb2.DeleteUserRequest(name=user.name)
    assert failure(lambda: stub.DeleteUser(again, timeout=10))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION, "USER_DELETED")
    stale = pb2.UndeleteUserRequest(name=user.name, etag=user.etag)
    assert failure(lambda: stub.UndeleteUser(stale, timeout=10))[:2] == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")

    restored = stub.UndeleteUser(pb2.UndeleteUserRequest(name=user.name, etag=deleted.etag), timeout=10)
    assert restored.state == pb2.User.ACTIVE and restored.uid == user.uid
    assert not restored.HasField("delete_time") and not restored.HasField("purge_time")
    assert failure(lambda: stub.UndeleteUser(pb2.UndeleteUserRequest(name=user.name), timeout=10))[:2] == (
        grpc.StatusCode.ALREADY_EXISTS, "USER_NOT_DELETED")


def test_a_deleted_users_email_is_free_at_once_and_then_blocks_its_undelete(api):
    pb2, stub = api
    first = create(api, unique("first"))
    stub.DeleteUser(pb2.DeleteUserRequest(name=first.name), timeout=10)
    second = create(api, unique("second"), email=first.email)
    assert second.email == first.email and second.uid != first.uid
    undelete = pb2.UndeleteUserRequest(name=first.name)
    assert failure(lambda: stub.UndeleteUser(undelete, timeout=10))[:2] == (
        grpc.StatusCode.ALREADY_EXISTS, "EMAIL_ALREADY_EXISTS")


def test_error_details_name_the_reason_and_every_bad_field(api):
    pb2, stub = api
    bad = pb2.CreateUserRequest(user=pb2.User(email="no-at-sign"), user_id="Not_A_Valid_Id")
    code, reason, fields = failure(lambda: stub.CreateUser(bad, timeout=10))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert sorted(fields) == ["user.email", "user_id"]

    missing = pb2.GetUserRequest(name=f"users/{unique('nobody')}")
    assert failure(lambda: stub.GetUser(missing, timeout=10)) == (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND", [])

    taken = create(api, unique("taken"))
    same_id = lambda: create(api, taken.name.removeprefix("users/"))
    assert failure(same_id)[:2] == (grpc.StatusCode.ALREADY_EXISTS, "USER_ALREADY_EXISTS")
    # Emails are unique case-insensitively.
    same_email = lambda: create(api, email=taken.email.upper())
    assert failure(same_email)[:2] == (grpc.StatusCode.ALREADY_EXISTS, "EMAIL_ALREADY_EXISTS")

    negative = pb2.ListUsersRequest(page_size=-1)
    assert failure(lambda: stub.ListUsers(negative, timeout=10))[:2] == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")


def test_reflection_describes_the_directory_with_its_imports(channel):
    """grpcurl-style clients resolve the service and the well-known types it imports."""
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    pool = DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    service = pool.FindServiceByName("user.v1.UserService")
    assert [m.name for m in service.methods] == [
        "CreateUser", "GetUser", "ListUsers", "UpdateUser", "DeleteUser", "UndeleteUser"]
    update = service.FindMethodByName("UpdateUser").input_type
    assert update.fields_by_name["update_mask"].message_type.full_name == "google.protobuf.FieldMask"

#!/usr/bin/env python3
"""Writes the seed corpora. Settings seeds follow the byte layout that
`arbitrary` reads for `Input` in fuzz_targets/settings.rs: each Option and
each Vec element starts with a flag byte, an enum with a 4-byte index scaled
by its variant count, and the file body takes the rest of the input.
`cargo fuzz fmt settings FILE` shows how a seed decodes."""
import json
import pathlib
import struct
import tomllib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXTENSIONS = ["toml", "yaml", "yml", "json", "TOML", "txt", ""]


def enum_index(index, count):
    # arbitrary maps a u32 x to variant (x * count) >> 32; pick the
    # smallest x that lands on `index`.
    return struct.pack("<I", -(-(index << 32) // count))


def settings_seed(extension, body, by_flag=True):
    header = b"\x01" + enum_index(EXTENSIONS.index(extension), len(EXTENSIONS))
    header += b"\x01" if by_flag else b"\x00"
    header += b"\x00" * 3  # no variables, no flags, no PEM file
    return header + body.encode()


def yaml(table, indent=""):
    lines = []
    for key, value in table.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.extend(yaml(value, indent + "  "))
        else:
            lines.append(f"{indent}{key}: {json.dumps(value)}")
    return lines


def text(value):
    # Carved text in fuzz_targets/directory_input.rs: a length byte, then bytes.
    data = value.encode()
    return bytes([len(data)]) + data


def directory_seeds():
    """Seeds of fuzz_targets/directory_request.rs: byte 0 the method (0..5:
    Create, Get, List, Update, Delete, Undelete), byte 1 the flags (bit 0 the
    1KiB decoding limit, bit 1 raw message bytes), then one choice byte per
    field, in the order `Carver::request` reads them (directory_input.rs)."""
    create, get, list_, update, delete, undelete = (bytes([m, 0]) for m in range(6))
    # Choice bytes: a present user, then email, display name, no output-only.
    fresh_user = b"\x01" + b"\x07\x01" + b"\x02\x00" + b"\x00"
    seeded_user = b"\x01" + b"\x01\x00" + b"\x02\x00" + b"\x00"
    get_ann = b"\x0a\x09users/ann"  # GetUserRequest{name: "users/ann"}, prost-encoded
    long_name = b"users/" + b"a" * 1100
    get_long = b"\x0a" + bytes([len(long_name) & 0x7F | 0x80, len(long_name) >> 7]) + long_name
    return {
        # user, user_id fresh, request_id UUIDS[0], not validate_only.
        "create-fresh": create + fresh_user + b"\x04\x01" + b"\x01\x00" + b"\x00",
        # user_id "ann", seeded email: ALREADY_EXISTS.
        "create-taken": create + seeded_user + b"\x01\x00" + b"\x00" + b"\x00",
        # email "a@", display name with a control character, user_id "Ann",
        # request_id "abc", validate_only: four violations.
        "create-all-bad": create + b"\x01\x05\x03\x00" + b"\x02\x03" + b"\x02" + text("abc") + b"\x01",
        "get-seeded": get + b"\x00\x00",
        "get-unknown": get + b"\x05\x09",
        "get-bad-name": get + b"\x03" + text("people/ann"),
        # page_size 1, a real token, no filter, default order.
        "list-real-token": list_ + b"\x01" + b"\x01" + b"\x00" + b"\x01\x00" + b"\x00",
        # The same with one flipped byte.
        "list-mutated-token": list_ + b"\x01" + b"\x02\x00\x0a\x20" + b"\x00" + b"\x01\x00" + b"\x00",
        # A real token for another filter: PAGE_TOKEN_MISMATCH.
        "list-token-other-filter": list_ + b"\x01" + b"\x01" + b"\x01\x04" + b"\x01\x00" + b"\x00",
        # page_size -1, NOT in the filter, order by uid, show_deleted.
        "list-all-bad": list_ + b"\x07" + b"\x00" + b"\x01\x0a" + b"\x01\x08" + b"\x01",
        # users/ann, display name "Anna", the current etag, mask display_name.
        "update-current-etag": update + b"\x00\x00" + b"\x01\x00\x01" + text("Anna") + b"\x00"
        + b"\x01" + b"\x02\x01" + b"\x00",
        # Mask path `uid`: output only.
        "update-output-only": update + b"\x00\x00" + b"\x01\x00\x00\x00" + b"\x00" + b"\x02\x04" + b"\x00",
        # An unknown user with allow_missing: created.
        "update-allow-missing": update + b"\x05\x33" + b"\x01\x07\x33\x00\x00" + b"\x00" + b"\x00" + b"\x01",
        # users/bob with a stale etag: ABORTED.
        "delete-stale-etag": delete + b"\x00\x01" + b"\x02" + text("old") + b"\x00",
        "delete-unknown-allow-missing": delete + b"\x05\x07" + b"\x00" + b"\x01",
        # users/cat (deleted at seeding) with its current etag.
        "undelete-current-etag": undelete + b"\x00\x02" + b"\x01",
        "raw-get": b"\x01\x02" + get_ann,
        "raw-truncated": b"\x01\x02" + get_ann[:-3],
        # Over the 1KiB decoding limit: RESOURCE_EXHAUSTED.
        "raw-over-small-limit": b"\x01\x03" + get_long,
    }


def main():
    documented = (ROOT / "deploy/config/user-service.toml").read_text()
    table = tomllib.loads(documented)
    settings = {
        "documented.toml": settings_seed("toml", documented),
        "all-keys.yaml": settings_seed("yaml", "\n".join(yaml(table)) + "\n", by_flag=False),
        "all-keys.json": settings_seed("json", json.dumps(table, indent=1)),
        "some-keys.yml": settings_seed(
            "yml",
            'limits:\n  max_name_length: "64 KiB"\n  request_timeout: 250ms\n'
            'tls:\n  cert_file: "@PEM@"\n  key_file: "@PEM@"\n',
        ),
        "typo.toml": settings_seed("toml", '[server]\nadress = "0.0.0.0:1"\n'),
    }
    # The README's call: UserRequest{id: 2, name: "twtrubiks"}, and id 0.
    request = b"\x08\x02\x12\x09twtrubiks"
    id_zero = b"\x12\x09twtrubiks"
    frame = lambda message: b"\x00" + struct.pack(">I", len(message)) + message
    # Byte 0 steers the target: bit 0 adds the frame prefix; the other bits
    # pick limits and chunking (see fuzz_targets/list_user_request.rs).
    requests = {
        "tutorial-framed-by-target": b"\x01" + request,
        "tutorial-framed-in-input": b"\x00" + frame(request),
        "tutorial-raw": b"\x00" + request,
        "id-zero-framed": b"\x01" + id_zero,
        "name-over-16-bytes": b"\x05" + request.replace(b"\x09twtrubiks", b"\x12" + b"twtrubiks" * 2),
        "one-byte-chunks": b"\x21" + request,
    }
    for directory, seeds in (
        ("settings", settings),
        ("list_user_request", requests),
        ("directory_request", directory_seeds()),
    ):
        out = HERE / directory
        out.mkdir(exist_ok=True)
        for name, data in seeds.items():
            (out / name).write_bytes(data)


if __name__ == "__main__":
    main()

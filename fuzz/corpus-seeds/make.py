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
    for directory, seeds in (("settings", settings), ("list_user_request", requests)):
        out = HERE / directory
        out.mkdir(exist_ok=True)
        for name, data in seeds.items():
            (out / name).write_bytes(data)


if __name__ == "__main__":
    main()

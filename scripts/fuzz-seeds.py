#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora from the spec's transcripts.

fuzz/corpus/fuzz_command_parser/: what each client sends in each transcript
of spec/natter.md, as one stream, with a few telnet, CR NUL and overlong
variants and the netkit telnet captures of tests/proto/data/; prefixed with
the two control octets the harness reads (line limit selector, split seed).
fuzz/corpus/fuzz_server_line_parser/: every line a client receives in the
transcripts. fuzz/corpus/fuzz_session/: two clients, one of which sends
netkit telnet's octets (section 6.4). Files are named by their SHA-1, so
running this again adds nothing that is already there.
"""
import hashlib
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
spec = (root / "spec" / "natter.md").read_text(encoding="utf-8")
blocks = re.findall(r"```transcript\n(.*?)```", spec, re.S)


def write(target, data):
    out = root / "fuzz" / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


for block in blocks:
    sent = {}
    for line in block.splitlines():
        m = re.match(r"(\w+)([<>]) (.*)$", line)
        if not m:
            continue
        who, way, text = m.groups()
        if way == ">":
            sent.setdefault(who, []).append(text.encode())
        else:
            write("fuzz_server_line_parser", text.encode())
    for lines in sent.values():
        write("fuzz_command_parser", b"\x00\x01" + b"".join(l + b"\r\n" for l in lines))
        write("fuzz_command_parser", b"\x00\x02" + b"".join(l + b"\n" for l in lines))
        write("fuzz_command_parser", b"\x00\x03" + b"".join(l + b"\r\x00" for l in lines))

extras = [
    b"\x00\x05NICK a\xff\xfb\x18\xff\xfd\x01\r\nMSG h\xff\xf1i\r\xff\xf1\n",
    b"\x00\x06PI\xff\xfa\x18\x00xterm\r\n\xff\xf0NG\r\nMSG half\xff\xf4\xff\xfd\x06PING\r\n",
    b"\x00\x07MSG \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\r\nMSG \xc0\x80\r\nMSG \xed\xa0\x80\r\n",
    b"\x00\x08MSG a\x01\r\nMSG \xc2\x9b[2J\r\nMSG a\rb\r\nMSG a\x7f\r\n",
    b"\x01\x09MSG " + b"x" * 40 + b"\r\nPING\r\n" + b"MSG " + b"y" * 28 + b"\r\n",
    b"\x00\x0aMSG " + b"z" * 3000 + b"\r\nECHO ok\r\n",
    b"\x00\x0bGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x00\x0c\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
]
for data in extras:
    write("fuzz_command_parser", data)

# Section 6.4: what netkit telnet sends for characters that contain 0x83,
# 0x8F, 0x9A or 0x9C, and the edges of the rule.
captures = sorted((root / "tests" / "proto" / "data").glob("netkit-telnet-*.bin"))
for i, path in enumerate(captures):
    write("fuzz_command_parser", bytes([0, 0x0D + i]) + path.read_bytes())
edges = (
    b"MSG \xe0\xff\xf4PING\r\nMSG \xc2\xff\xf4\xff\xf4PING\r\n"
    b"MSG \x01\xc3\xff\xfa\x18\x80\xff\xf0\xff\xf4x\r\nMSG \xf0\xff\xed\x80\xff\xee\r\n"
    b"MSG \xc3\xa9\xff\xf4\xf4\xff\xf5\xbf\xff\xf3\r\n"
)
write("fuzz_command_parser", b"\x00\x10" + edges)
write("fuzz_command_parser", b"\x01\x11" + edges)


def raw(slot, data):
    """fuzz_session's opcode 1: `data` (1 to 96 octets) from `slot`."""
    assert 0 < len(data) <= 96
    return bytes([1, slot, len(data) - 1]) + data


# Line limit 127, no flood control; slots 0 and 1 connect and take a nick;
# slot 0 sends two captured lines (the harness turns 0xE2 into "E"), slot 1
# an IP inside a character that makes its line invalid; then PING and time.
session = bytes([0x3F, 0, 0, 0, 1, 2, 0, 0, 2, 1, 1])
for path in captures:
    session += raw(0, path.read_bytes())
session += raw(1, b"MSG \xe0\xff\xf4\xff\xfd\x06PING\r\nMSG \xf0\x9f\x98\xff\xf4\r\n")
session += bytes([8, 0, 8, 1, 7, 0, 10])
write("fuzz_session", session)

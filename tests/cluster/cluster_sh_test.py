"""scripts/cluster.sh 2 runs a working two-node room, and Ctrl-C stops it all.

Run as: /usr/bin/python3 cluster_sh_test.py SOURCE_DIR NATTERD
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

source, natterd = sys.argv[1], sys.argv[2]
env = dict(os.environ, NATTERD=natterd)
proc = subprocess.Popen(["bash", os.path.join(source, "scripts/cluster.sh"), "2"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                        env=env, start_new_session=True)
seen = []


def fail(why):
    sys.exit("cluster_sh_test: " + why + "\n" + "".join(seen))


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.s.recv(4096)
            if not data:
                return "<closed>"
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def send(self, text):
        self.s.sendall(text.encode() + b"\r\n")


def run():
    ports = []
    deadline = time.monotonic() + 30
    while len(ports) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.match(r"natterd: chat listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            ports.append(int(m.group(1)))
    if len(ports) != 2:
        fail("two nodes did not start")
    a, b = Client(ports[0]), Client(ports[1])
    for c in (a, b):
        if not c.line().startswith("220 "):
            fail("no greeting")
    # One after the other: alice is in the room before bob joins it.
    a.send("NICK alice")
    if a.line() != "200 alice nick accepted":
        fail("alice's registration failed")
    b.send("NICK bob")
    if b.line() != "200 bob nick accepted":
        fail("bob's registration failed")
    if a.line() != "JOIN bob":
        fail("alice did not see bob join on the other node")
    a.send("MSG hello other node")
    if b.line() != "MSG alice hello other node":
        fail("bob did not get alice's message")
    # Ctrl-C: the script stops every process it started.
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        fail("cluster.sh did not stop on SIGINT")
    rest = proc.stdout.read()
    if "cluster.sh: stopped" not in rest:
        fail("no 'stopped' line: " + rest)
    # The nodes shut down: alice's connection ends (521, then closed).
    for _ in range(3):
        if a.line() == "<closed>":
            break
    else:
        fail("alice's node did not close her connection")
    # And nothing the script started is left.
    for _ in range(100):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        fail("processes of cluster.sh are still running")


# Whatever happens above, nothing the script started outlives the test.
try:
    run()
finally:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
print("cluster_sh_test: ok")

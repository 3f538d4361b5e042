# SPDX-License-Identifier: BSD-3-Clause
"""/xcap/ telemetry commands, queried from a running process on the emulated
card through DPDK's telemetry socket (the same one dpdk-telemetry.py uses)."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

BUILD = os.environ.get("XCAP_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
COPY_APP = os.path.join(BUILD, "app", "xcap-copy")
RUNTIME = "/var/run/dpdk"


class Telemetry:
    def __init__(self, prefix):
        path = os.path.join(RUNTIME, prefix, "dpdk_telemetry.v2")
        deadline = time.monotonic() + 20
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise TimeoutError("no telemetry socket at " + path)
            time.sleep(0.1)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)
        hello = json.loads(self.sock.recv(16384).decode())
        self.max_len = hello["max_output_len"]

    def query(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(self.max_len).decode())
        return reply[cmd.split(",")[0]]

    def close(self):
        self.sock.close()


@pytest.fixture
def copy_process(request):
    """xcap-copy on an emulated card, copying for a few seconds."""
    devargs, app_args = request.param
    prefix = "xcaptel%d" % os.getpid()
    cmd = [COPY_APP, "-l", "0-1", "--file-prefix", prefix, "--no-pci", "--iova-mode=va",
           "--vdev=dma_xcap_emu0," + devargs, "--", "--seconds", "6"] + app_args
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tel = None
    try:
        tel = Telemetry(prefix)
        # wait until the copy loop runs
        deadline = time.monotonic() + 20
        while tel.query("/xcap/info,0").get("started") != 1:
            assert time.monotonic() < deadline, "device never started"
            time.sleep(0.1)
        yield tel, prefix
    finally:
        if tel:
            tel.close()
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(os.path.join(RUNTIME, prefix), ignore_errors=True)


pytestmark = pytest.mark.skipif(not os.path.exists(COPY_APP), reason="xcap-copy not built")


@pytest.mark.parametrize("copy_process", [
    ("copy_channels=2,capture_channels=1,max_ring=2048,addr_width=47", ["--ring", "512"])],
    indirect=True)
def test_cards_info_and_channel(copy_process):
    tel, _ = copy_process
    assert tel.query("/xcap/cards") == {"dma_xcap_emu0": 0}
    info = tel.query("/xcap/info,0")
    assert info["name"] == "dma_xcap_emu0"
    assert info["present"] == 1 and info["emulated"] == 1
    assert (info["version_major"], info["version_minor"]) == (1, 2)
    assert (info["copy_channels"], info["capture_channels"]) == (2, 1)
    assert info["max_ring"] == 2048
    assert info["addr_width"] == 47
    assert info["max_sge"] == 16
    assert info["configured_vchans"] == 1
    assert info["halt_on_error"] == 0 and info["null_engine"] == 0
    assert info["card_registers"] == 1 and info["caps_ops"] == 0x1f  # Caps1 (HW §5.2)

    first = tel.query("/xcap/channel,0,0")
    assert first["kind"] == "copy"
    assert first["state"] == "running"
    assert first["ring_size"] == 512
    assert first["memzone_socket"] == 0
    assert 0 <= first["in_flight"] <= 512
    assert first["occupancy_pct"] == first["in_flight"] * 100 // 512
    assert first["errors"] == 0 and first["card_faults"] == 0 and first["failed"] == 0
    assert first["err_code"] == 0 and first["err_name"] == "successful"
    assert first["completed"] <= first["submitted"]
    time.sleep(0.5)
    later = tel.query("/xcap/channel,0,0")
    assert later["completed"] > first["completed"], "the copy loop is not making progress"
    # the card counts what it completed, but publishes its counters at the
    # end of a batch (HW §3.1: they may lag the completions by one batch, at
    # most 256 descriptors in the model), so the driver may have reaped up to
    # one batch more than CntDesc shows yet (it did, ~1 in 3 under ASan)
    assert later["hw_descriptors"] + 256 >= later["completed"]
    occ = tel.query("/xcap/occupancy,0")
    assert set(occ) == {"vchan0"} and 0 <= occ["vchan0"] <= 512
    assert tel.query("/xcap/errors,0") == {"vchan0": 0}
    assert tel.query("/xcap/capture_drops,0") == {}


@pytest.mark.parametrize("copy_process", [("fail_every=1000,fail_status=bus_error", [])],
                         indirect=True)
def test_errors_are_visible(copy_process):
    tel, _ = copy_process
    deadline = time.monotonic() + 10
    while tel.query("/xcap/channel,0,0")["hw_errors"] == 0:
        assert time.monotonic() < deadline, "no injected error reached the card counters"
        time.sleep(0.1)
    # the driver's count first: it can only have reaped errors the card
    # had already completed when the channel is read after it
    errs = tel.query("/xcap/errors,0")["vchan0"]
    ch = tel.query("/xcap/channel,0,0")
    assert ch["err_name"] == "bus error" and ch["err_code"] == 10
    # every 1000th descriptor fails (the two counters are read one after
    # the other while the card runs, so allow one in between)
    assert abs(ch["hw_errors"] - ch["hw_descriptors"] // 1000) <= 1
    # ... but the card's counters may lag its completions by one batch
    # (HW §3.1; <= 256 descriptors, so at most one failure at fail_every=1000)
    assert errs <= ch["hw_errors"] + 1


@pytest.mark.parametrize("copy_process", [("", [])], indirect=True)
def test_bad_parameters_are_rejected(copy_process):
    tel, _ = copy_process
    for cmd in ("/xcap/info", "/xcap/info,x", "/xcap/info,7", "/xcap/channel,0",
                "/xcap/channel,0,9", "/xcap/channel,0,-1"):
        tel.sock.send(cmd.encode())
        reply = json.loads(tel.sock.recv(tel.max_len).decode())
        assert reply[cmd.split(",")[0]] is None, cmd


@pytest.mark.parametrize("copy_process", [("", [])], indirect=True)
def test_dpdk_telemetry_script_lists_xcap_commands(copy_process):
    script = shutil.which("dpdk-telemetry.py")
    if not script:
        pytest.skip("dpdk-telemetry.py not installed (Debian package dpdk)")
    _, prefix = copy_process
    out = subprocess.run(["/usr/bin/python3", script, "-f", prefix], input="/\n/xcap/cards\n",
                         capture_output=True, text=True, timeout=30).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    commands = next(d["/"] for d in lines if "/" in d)
    for c in ("/xcap/cards", "/xcap/info", "/xcap/channel", "/xcap/occupancy",
              "/xcap/errors", "/xcap/capture_drops"):
        assert c in commands
    assert {"/xcap/cards": {"dma_xcap_emu0": 0}} in lines

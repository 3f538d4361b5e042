# SPDX-License-Identifier: BSD-3-Clause
"""usertools/lib/xcap-dpdk.sh: which DPDK --dpdk selects, which build
directory it gets, where its sources come from, and the env exports."""
import os
import subprocess
import tarfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(REPO, "usertools", "lib", "xcap-dpdk.sh")


def sh(script, env=None):
    """Runs script after sourcing the library with stub say/die/usage_error."""
    prolog = f"""
set -euo pipefail
REPO={REPO}
say() {{ echo "say: $*" >&2; }}
die() {{ echo "die: $*" >&2; exit 3; }}
usage_error() {{ echo "usage: $*" >&2; exit 2; }}
source {LIB}
"""
    e = dict(os.environ)
    e.pop("XCAP_DPDK", None)
    e.pop("XCAP_DPDK_SRC", None)
    e.update(env or {})
    return subprocess.run(["bash", "-c", prolog + script], capture_output=True, text=True, env=e)


def select(opt, extra=""):
    return sh(f"DPDK_OPT={opt!r}; {extra} select_dpdk; "
              'echo "$DPDK_KIND $DPDK_VER ${BUILD_DIR#$REPO/}"')


def test_version_selects_a_source_build_in_its_own_dir():
    r = select("24.11", "system_dpdk_version() { echo 22.11; };")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["source", "24.11", "build-dpdk-24.11"]


def test_default_on_debian12_is_25_11_in_build():
    r = select("", "system_dpdk_version() { echo 22.11; };")
    assert r.stdout.split() == ["source", "25.11", "build"]


def test_default_with_a_new_system_dpdk_is_system():
    r = select("", "system_dpdk_version() { echo 24.11; };")
    assert r.stdout.split() == ["system", "24.11", "build"]


def test_system_22_11_when_not_default_gets_its_own_dir():
    r = select("system", "system_dpdk_version() { echo 22.11; };")
    assert r.stdout.split() == ["system", "22.11", "build-dpdk-22.11"]


def test_a_nonexistent_path_is_a_usage_error():
    r = select("/nonexistent/dpdk")
    assert r.returncode == 2
    assert "not system, a version" in r.stderr


def test_a_tarball_path_tells_its_version(tmp_path):
    tree = tmp_path / "dpdk-99.03"
    tree.mkdir()
    (tree / "VERSION").write_text("99.03.0\n")
    tb = tmp_path / "dpdk-99.03.tar.xz"
    with tarfile.open(tb, "w:xz") as t:
        t.add(tree, arcname="dpdk-99.03")
    r = select(str(tb), "system_dpdk_version() { echo 22.11; };")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["source", "99.03", "build-dpdk-99.03"]
    r = select(str(tree), "system_dpdk_version() { echo 22.11; };")
    assert r.stdout.split()[:2] == ["source", "99.03"]


def test_sources_prefer_xcap_dpdk_src_then_shared(tmp_path):
    tb = tmp_path / "mine.tar.xz"
    tb.write_bytes(b"")
    r = sh('DPDK_VER=25.11 DPDK_SRC_HINT=' + str(tb) + '; find_dpdk_source')
    assert r.stdout == str(tb)
    shared = os.path.join(REPO, "..", "shared", "dpdk", "dpdk-25.11.tar.xz")
    if os.path.isfile(shared):
        r = sh('DPDK_VER=25.11 DPDK_SRC_HINT=; find_dpdk_source')
        assert r.stdout == os.path.realpath(shared)


def test_no_sources_and_no_download_says_what_to_do(tmp_path):
    r = sh('curl() { return 6; }; DPDK_VER=01.01 DPDK_SRC_HINT=; find_dpdk_source',
           env={"XCAP_CACHE": str(tmp_path)})
    assert r.returncode == 3
    assert "a machine without network needs one of" in r.stderr
    assert not list(tmp_path.glob("src/*.part"))


def test_cache_key_changes_with_options(tmp_path):
    tb = tmp_path / "d.tar.xz"
    tb.write_bytes(b"x")
    a = sh(f'DPDK_VER=25.11; dpdk_cache_prefix {tb}', env={"XCAP_CACHE": "/c"}).stdout
    b = sh(f'DPDK_VER=25.11; DPDK_MESON_OPTS+=(-Dfoo=1); dpdk_cache_prefix {tb}',
           env={"XCAP_CACHE": "/c"}).stdout
    assert a.startswith("/c/dpdk-25.11-") and b.startswith("/c/dpdk-25.11-") and a != b


def test_env_exports_for_a_source_build():
    r = sh('DPDK_KIND=source DPDK_VER=25.11 DPDK_PREFIX=/p DPDK_PKGCONFIG=/p/lib/pkgconfig '
           'DPDK_LIBDIR=/p/lib BUILD_DIR=/b; print_dpdk_env')
    out = r.stdout
    assert "export PKG_CONFIG_PATH=/p/lib/pkgconfig" in out
    assert "export LD_LIBRARY_PATH=/p/lib" in out
    assert "export PATH=/p/bin:$PATH" in out
    assert "export XCAP_BUILD=/b" in out
    assert "export XCAP_PMD=/b/drivers/librte_dma_xcap.so" in out

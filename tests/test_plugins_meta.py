"""What hosts read before running anything: analyseplugin accepts the
LADSPA library, the LV2 Turtle validates against the lv2-dev schemas
(sord_validate), lv2info shows the latency port, and the two descriptions
agree port by port.  Also ``rtdeclip plugins [install]``."""
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

from rtdeclip import plugins
from plugin_hosts import need, run

SCHEMAS = "/usr/lib/lv2"


def env_with(**kw):
    e = dict(os.environ)
    e.update(kw)
    return e


def ladspa_ports(label):
    """analyseplugin's port list for one label: [(name, direction, kind, rest)]."""
    r = run(["analyseplugin", plugins.ladspa_library()])
    block = r.stdout.split(f'Plugin Label: "{label}"')[1].split("Plugin Name:")[0]
    assert "ERROR" not in block, block
    ports = re.findall(r'"([^"]+)" (input|output), (audio|control)(.*)', block)
    return block, ports


VARIANTS = ["mono", "stereo", "mono_lowlatency", "stereo_lowlatency", "mono_voice",
            "stereo_voice", "mono_lossy", "stereo_lossy"]


def channels(variant):
    return 1 if variant.startswith("mono") else 2


def test_ladspa_ids_and_labels():
    """Eight labels in one library, IDs 2796201..2796208 in descriptor order
    (0 mono, 1 stereo, 2 / 3 their low-latency twins, 4 / 5 their voice
    twins, 6 / 7 their lossy twins), as rtdeclip.plugins lists them."""
    need("analyseplugin")
    r = run(["analyseplugin", plugins.ladspa_library()])
    found = re.findall(r'Plugin Label: "(\w+)"\nPlugin Unique ID: (\d+)', r.stdout)
    assert found == [(plugins.LADSPA_LABELS[v], str(2796201 + k)) for k, v in enumerate(VARIANTS)]
    assert VARIANTS == list(plugins.LADSPA_LABELS) == list(plugins.LV2_URIS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_analyseplugin(variant):
    need("analyseplugin")
    block, ports = ladspa_ports(plugins.LADSPA_LABELS[variant])
    assert "Environment: Normal or Hard Real-Time" in block
    C = channels(variant)
    audio = [p for p in ports if p[2] == "audio"]
    assert [p[1] for p in audio] == ["input"] * C + ["output"] * C
    outputs = [p[0] for p in ports if p[1] == "output" and p[2] == "control"]
    assert outputs[0] == "latency"                       # the name ffmpeg looks for
    assert len(outputs) == 1 + 2 * C + 2


def lv2_ports(uri):
    r = run(["lv2info", uri], env=env_with(LV2_PATH=plugins.lv2_dir()))
    ports = {}
    for m in re.finditer(r"Port (\d+):\n(.*?)(?=\n\tPort \d+:|\Z)", r.stdout, re.S):
        body = m.group(2)
        get = lambda k: (re.search(rf"{k}:\s+(\S.*)", body) or [None, None])[1]
        ports[int(m.group(1))] = dict(body=body, symbol=get("Symbol"), name=get("Name"),
                                      min=get("Minimum"), max=get("Maximum"), default=get("Default"))
    return r.stdout, ports


# the preset port's choices per family: LV2 scale points, LADSPA port name,
# range (the low-latency variants run lowlatency only: one value)
PRESET_PORT = {
    False: ({0.0: "average", 1.0: "fastest"}, "Preset (0 average, 1 fastest)", (0.0, 1.0)),
    True: ({2.0: "lowlatency"}, "Preset (2 lowlatency, fixed)", (2.0, 2.0)),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_lv2info_latency_port_and_ladspa_agree(variant):
    need("lv2info", "analyseplugin")
    text, ports = lv2_ports(plugins.LV2_URIS[variant])
    C = channels(variant)
    latency_index = 2 * C + 8
    assert f"Has latency:       yes, reported by port {latency_index}" in text
    assert ports[latency_index]["symbol"] == "latency"
    assert "hardRTCapable" in text
    enabled = [i for i, p in ports.items() if p["symbol"] == "enabled"]
    assert len(enabled) == 1
    _, lports = ladspa_ports(plugins.LADSPA_LABELS[variant])
    assert len(lports) == len(ports)
    for i, (name, direction, kind, rest) in enumerate(lports):
        p = ports[i]
        assert (direction == "input") == ("InputPort" in p["body"]), i
        assert (kind == "audio") == ("AudioPort" in p["body"]), i
        rng = re.search(r"(-?[\d.]+) to (-?[\d.]+)", rest)
        if direction == "input" and kind == "control":
            default = float(re.search(r"default (-?[\d.]+)", rest).group(1))
            assert float(p["default"]) == default, (i, name)
            if rng:
                assert (float(p["min"]), float(p["max"])) == tuple(map(float, rng.groups())), name
            if "toggled" in rest:
                assert "toggled" in p["body"], name
    # the preset scale points spell the LADSPA port name's choices
    want_points, want_name, want_range = PRESET_PORT[variant.endswith("_lowlatency")]
    preset = ports[2 * C]
    points = dict((float(v), l) for v, l in re.findall(r'([\d.]+) = "(\w+)"', preset["body"]))
    assert points == want_points
    assert lports[2 * C][0] == want_name
    assert (float(preset["min"]), float(preset["max"])) == want_range
    assert float(preset["default"]) == want_range[0]
    # a one-value control is hidden from LV2 GUIs (Ardour's generic editor)
    assert ("notOnGUI" in preset["body"]) == variant.endswith("_lowlatency")
    # the preset each variant runs by default is the one its port offers first
    assert points[want_range[0]] == plugins.DEFAULT_PRESET[variant]
    # one layout for every family: the same symbols at the same indices as
    # the standard twin (and the standard one as its low-latency twin)
    base = variant.split("_")[0]
    twin = base + "_lowlatency" if variant == base else base
    _, tports = lv2_ports(plugins.LV2_URIS[twin])
    assert [p["symbol"] for _, p in sorted(ports.items())] == \
        [p["symbol"] for _, p in sorted(tports.items())]


def test_turtle_validates():
    need("sord_validate")
    schemas = sorted(glob.glob(os.path.join(SCHEMAS, "*.lv2", "*.ttl")))
    if not schemas:
        pytest.skip("LV2 schemas not installed (Debian lv2-dev)")
    ours = sorted(glob.glob(os.path.join(plugins.lv2_bundle(), "*.ttl")))
    assert len(ours) == 2
    r = subprocess.run(["sord_validate", *schemas, *ours], capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "Found 0 errors" in out, out[-3000:]


def test_sord_validate_catches_a_broken_turtle(tmp_path):
    """The check above can fail: a port with a text index is an error."""
    need("sord_validate")
    schemas = sorted(glob.glob(os.path.join(SCHEMAS, "*.lv2", "*.ttl")))
    if not schemas:
        pytest.skip("LV2 schemas not installed (Debian lv2-dev)")
    bad = tmp_path / "rtdeclip.ttl"
    text = open(os.path.join(plugins.lv2_bundle(), "rtdeclip.ttl")).read()
    bad.write_text(text.replace("lv2:index 0 ;", 'lv2:index "zero" ;', 1))
    r = subprocess.run(["sord_validate", *schemas, str(bad)], capture_output=True, text=True)
    assert "Found 0 errors" not in r.stdout + r.stderr


def rtdeclip_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "rtdeclip", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_cli_prints_the_folders():
    r = rtdeclip_cli("plugins")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines == [f"ladspa: {plugins.ladspa_dir()}", f"lv2: {plugins.lv2_dir()}"]
    assert os.path.isfile(os.path.join(lines[0][len("ladspa: "):], "rtdeclip.so"))
    assert os.path.isfile(os.path.join(lines[1][len("lv2: "):], "rtdeclip.lv2", "manifest.ttl"))


def test_cli_lists_every_variant():
    """One line per plug-in: its LADSPA label (as analyseplugin lists the
    library's), its LV2 URI (as lv2info knows it) and what it is for."""
    r = rtdeclip_cli("plugins", "--list")
    assert r.returncode == 0, r.stderr
    rows = [line.split(None, 2) for line in r.stdout.splitlines()]
    assert [(a, b) for a, b, _ in rows] == [(plugins.LADSPA_LABELS[v], plugins.LV2_URIS[v])
                                            for v in VARIANTS]
    assert all(purpose for _, _, purpose in rows)
    assert "16 kHz" in dict((a, c) for a, _, c in rows)["rtdeclip_stereo_voice"]
    if shutil.which("analyseplugin"):
        listed = re.findall(r'Plugin Label: "(\w+)"', run(["analyseplugin",
                                                          plugins.ladspa_library()]).stdout)
        assert listed == [a for a, _, _ in rows]
    if shutil.which("lv2ls"):
        known = run(["lv2ls"], env=env_with(LV2_PATH=plugins.lv2_dir())).stdout.split()
        assert sorted(known) == sorted(b for _, b, _ in rows)


def test_cli_install_into_home(tmp_path):
    env = env_with(HOME=str(tmp_path))
    r = rtdeclip_cli("plugins", "install", env=env)
    assert r.returncode == 0, r.stderr
    lib = tmp_path / ".ladspa" / "rtdeclip.so"
    bundle = tmp_path / ".lv2" / "rtdeclip.lv2"
    assert f"installed ladspa: {lib}" in r.stdout and f"installed lv2: {bundle}" in r.stdout
    assert lib.read_bytes() == open(plugins.ladspa_library(), "rb").read()
    assert sorted(os.listdir(bundle)) == ["manifest.ttl", "rtdeclip.so", "rtdeclip.ttl"]
    # hosts find them there with no path set: lv2info through ~/.lv2
    if shutil.which("lv2info"):
        e = {k: v for k, v in env.items() if k != "LV2_PATH"}
        out = subprocess.run(["lv2info", "urn:rtdeclip:stereo"], capture_output=True, text=True,
                             env=e).stdout
        assert str(bundle) in out
    # again: replaced in place, still one copy
    assert rtdeclip_cli("plugins", "install", env=env).returncode == 0
    assert sorted(os.listdir(tmp_path / ".ladspa")) == ["rtdeclip.so"]


def test_cli_install_error_is_one_line(tmp_path):
    (tmp_path / ".ladspa").write_text("a file where the folder should be")
    r = rtdeclip_cli("plugins", "install", env=env_with(HOME=str(tmp_path)))
    assert r.returncode == 1
    assert r.stderr.startswith("rtdeclip: error: cannot install the plug-ins into")
    assert len(r.stderr.strip().splitlines()) == 1

"""Where the LADSPA and LV2 plug-ins are, and copying them where hosts look.

The plug-ins are built by ``pip install .`` into this package
(setup.py's build_ext step): ``ladspa/rtdeclip.so`` (labels
``rtdeclip_mono``, ``rtdeclip_stereo``, the low-latency variants
``rtdeclip_mono_lowlatency``, ``rtdeclip_stereo_lowlatency``, the
voice variants ``rtdeclip_mono_voice``, ``rtdeclip_stereo_voice``, which
declip at a 16 kHz source's rate: an Opus voice call decoded at 48 kHz,
and the lossy variants ``rtdeclip_mono_lossy``, ``rtdeclip_stereo_lossy``
for audio decoded from MP3, AAC, Vorbis or Opus, as
``Declipper(codec="mp3")``: a second pass over a codec's smeared rail)
and the LV2 bundle ``lv2/rtdeclip.lv2/`` (URIs ``urn:rtdeclip:mono``,
``urn:rtdeclip:stereo``, ``urn:rtdeclip:mono-lowlatency``,
``urn:rtdeclip:stereo-lowlatency``, ``urn:rtdeclip:mono-voice``,
``urn:rtdeclip:stereo-voice``, ``urn:rtdeclip:mono-lossy``,
``urn:rtdeclip:stereo-lossy``).
Point hosts at them with ``LADSPA_PATH=ladspa_dir()`` and
``LV2_PATH=lv2_dir()``, or copy them with :func:`install`.
"""
import os
import shutil
import tempfile

from rtdeclip.errors import UserError

_HERE = os.path.dirname(os.path.abspath(__file__))
LADSPA_FILE = "rtdeclip.so"
LV2_BUNDLE = "rtdeclip.lv2"
# in descriptor order (ladspa_descriptor / lv2_descriptor index)
LADSPA_LABELS = {"mono": "rtdeclip_mono", "stereo": "rtdeclip_stereo",
                 "mono_lowlatency": "rtdeclip_mono_lowlatency",
                 "stereo_lowlatency": "rtdeclip_stereo_lowlatency",
                 "mono_voice": "rtdeclip_mono_voice", "stereo_voice": "rtdeclip_stereo_voice",
                 "mono_lossy": "rtdeclip_mono_lossy", "stereo_lossy": "rtdeclip_stereo_lossy"}
LV2_URIS = {"mono": "urn:rtdeclip:mono", "stereo": "urn:rtdeclip:stereo",
            "mono_lowlatency": "urn:rtdeclip:mono-lowlatency",
            "stereo_lowlatency": "urn:rtdeclip:stereo-lowlatency",
            "mono_voice": "urn:rtdeclip:mono-voice", "stereo_voice": "urn:rtdeclip:stereo-voice",
            "mono_lossy": "urn:rtdeclip:mono-lossy", "stereo_lossy": "urn:rtdeclip:stereo-lossy"}
# the preset each variant runs by default (the low-latency ones run only it)
DEFAULT_PRESET = {"mono": "average", "stereo": "average", "mono_lowlatency": "lowlatency",
                  "stereo_lowlatency": "lowlatency", "mono_voice": "average",
                  "stereo_voice": "average", "mono_lossy": "average", "stereo_lossy": "average"}
# what each variant is for (``rtdeclip plugins --list``)
PURPOSE = {"mono": "presets average (default) and fastest",
           "stereo": "presets average (default) and fastest",
           "mono_lowlatency": "the lowlatency preset (12 ms at 48 kHz): hearing yourself",
           "stereo_lowlatency": "the lowlatency preset (12 ms at 48 kHz): hearing yourself",
           "mono_voice": "average / fastest at a 16 kHz source's rate: calls, voice messages "
                         "(host at 32, 48, 64 or 96 kHz)",
           "stereo_voice": "average / fastest at a 16 kHz source's rate: calls, voice messages "
                           "(host at 32, 48, 64 or 96 kHz)",
           "mono_lossy": "average / fastest for audio decoded from MP3, AAC, Vorbis or Opus "
                         "(a second pass: twice the latency, 85 ms at 48 kHz)",
           "stereo_lossy": "average / fastest for audio decoded from MP3, AAC, Vorbis or Opus "
                           "(a second pass: twice the latency, 85 ms at 48 kHz)"}
# the codec a lossy variant stands for with its codec control at 0 (as a
# Declipper told it: the second pass and the preset's hedge; 1 is "opus")
CODEC = {v: ("mp3" if v.endswith("_lossy") else None) for v in LADSPA_LABELS}
# the rate the solver runs at (None: the host's): the voice variants
# declip at a 16 kHz source's rate, as Declipper(..., source_rate=16000),
# and instantiate only at 2, 3, 4 or 6 times it (32, 48, 64, 96 kHz)
SOURCE_RATE = {v: (16000 if v.endswith("_voice") else None) for v in LADSPA_LABELS}
# where Debian's hosts look without LADSPA_PATH / LV2_PATH
SYSTEM_DIRS = {"ladspa": "/usr/local/lib/ladspa", "lv2": "/usr/local/lib/lv2"}


def ladspa_dir():
    """The folder holding the LADSPA library (a LADSPA_PATH entry)."""
    return os.path.join(_HERE, "ladspa")


def lv2_dir():
    """The folder holding the LV2 bundle (an LV2_PATH entry)."""
    return os.path.join(_HERE, "lv2")


def ladspa_library():
    return os.path.join(ladspa_dir(), LADSPA_FILE)


def lv2_bundle():
    return os.path.join(lv2_dir(), LV2_BUNDLE)


def check_built():
    """Raise UserError unless both plug-ins are here."""
    missing = [p for p in (ladspa_library(), os.path.join(lv2_bundle(), "rtdeclip.so"),
                           os.path.join(lv2_bundle(), "manifest.ttl")) if not os.path.exists(p)]
    if missing:
        raise UserError(f"plug-ins not built ({missing[0]} missing): reinstall rtdeclip with "
                        f"ladspa.h and the LV2 headers present (Debian: ladspa-sdk lv2-dev)")


def user_dirs():
    home = os.path.expanduser("~")
    return {"ladspa": os.path.join(home, ".ladspa"), "lv2": os.path.join(home, ".lv2")}


def _replace_file(src, dst):
    """Copy src to dst atomically (a host loading dst sees old or new)."""
    fd, tmp = tempfile.mkstemp(prefix=".rtdeclip-", dir=os.path.dirname(dst))
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def install(system=False):
    """Copy the LADSPA library and the LV2 bundle to ~/.ladspa and ~/.lv2
    (or /usr/local/lib/{ladspa,lv2}); returns {"ladspa": path, "lv2": path}."""
    check_built()
    dirs = SYSTEM_DIRS if system else user_dirs()
    try:
        os.makedirs(dirs["ladspa"], exist_ok=True)
        lib = os.path.join(dirs["ladspa"], LADSPA_FILE)
        _replace_file(ladspa_library(), lib)
        bundle = os.path.join(dirs["lv2"], LV2_BUNDLE)
        os.makedirs(bundle, exist_ok=True)
        for name in sorted(os.listdir(lv2_bundle())):
            _replace_file(os.path.join(lv2_bundle(), name), os.path.join(bundle, name))
    except OSError as e:
        where = e.filename or dirs["ladspa"]
        hint = " (try sudo, or leave out --system)" if system else ""
        raise UserError(f"cannot install the plug-ins into {where}: {e.strerror}{hint}") from None
    return {"ladspa": lib, "lv2": bundle}

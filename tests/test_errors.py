"""One exception family (issue 14, point 5): the same bad argument raises
the same error class whatever the entry point, a ParameterError is a
ValueError, file problems are FileErrors naming the file, and the old
names (UserError, samplerate=, threshold=) still work."""
import json
import warnings

import numpy as np
import pytest

import rtdeclip
from rtdeclip.errors import FileError, ParameterError, RtdeclipError, UserError


def test_family():
    assert issubclass(ParameterError, ValueError) and issubclass(ParameterError, RtdeclipError)
    assert issubclass(FileError, RtdeclipError) and not issubclass(FileError, ValueError)
    assert UserError is RtdeclipError and rtdeclip.UserError is RtdeclipError


@pytest.mark.parametrize("bad", [dict(window=1000), dict(hop=3), dict(redundancy=3),
                                 dict(algorithm="cspade"), dict(budget_pool=99),
                                 dict(preset="loudest"), dict(plan="fast")])
def test_same_bad_setting_same_error_everywhere(bad):
    """Declipper, declip and the live host (before it opens a device) all
    raise the one validator's ParameterError with the same message."""
    from rtdeclip.live.host import LiveDeclipper
    bad = dict(dict(preset="fastest"), **bad)   # the entry points' default presets differ
    messages = set()
    for make in (lambda: rtdeclip.Declipper(8000, **bad),
                 lambda: rtdeclip.declip(np.zeros(100), 8000, **bad),
                 lambda: LiveDeclipper(sample_rate=8000, **bad)):
        with pytest.raises(ParameterError) as e:
            make()
        messages.add(str(e.value))
    assert len(messages) == 1, messages
    assert next(iter(messages)).split()[0] in list(bad)[-1]


def test_unknown_setting_is_a_type_error():
    with pytest.raises(TypeError, match="windw"):
        rtdeclip.Declipper(8000, windw=256)
    with pytest.raises(TypeError, match="windw"):
        rtdeclip.declip(np.zeros(100), 8000, windw=256)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileError, match="nope.wav"):
        rtdeclip.declip_file(str(tmp_path / "nope.wav"))
    with pytest.raises(ParameterError, match="preset"):
        rtdeclip.declip_file(str(tmp_path / "nope.wav"), preset="loudest")
    with pytest.raises(ParameterError, match="format"):
        rtdeclip.declip_file(str(tmp_path / "nope.wav"), format="mp3")


def test_old_names_warn_but_work(tmp_path):
    from rtdeclip.live.host import LiveDeclipper
    with pytest.warns(DeprecationWarning, match="sample_rate"):
        with pytest.raises(ParameterError, match="blocksize"):
            LiveDeclipper(samplerate=48000, blocksize=3)
    with pytest.warns(DeprecationWarning, match="threshold_dbfs"):
        with pytest.raises(FileError, match="nope.wav"):
            rtdeclip.declip_file(str(tmp_path / "nope.wav"), threshold="-3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ParameterError, match="threshold"):
            rtdeclip.declip_file(str(tmp_path / "nope.wav"), threshold_dbfs="+3")


def test_json_has_no_infinities(tmp_path):
    """Unclipped levels are +-inf; JSON has none, so they are written as null
    (``rtdeclip live --stats`` used to write Infinity)."""
    from rtdeclip.files.report import write_json
    path = tmp_path / "s.json"
    write_json(str(path), {"thresholds": [[float("inf"), float("-inf")]],
                           "peak": np.float32(0.5)})
    text = path.read_text()

    def refuse(name):
        raise AssertionError(f"{name} in JSON")
    assert json.loads(text, parse_constant=refuse) == {"thresholds": [[None, None]], "peak": 0.5}

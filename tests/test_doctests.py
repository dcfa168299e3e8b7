"""The examples in the package's docstrings run (issue 14): every module of
the installed package is searched for doctests.  Examples that need files,
a sound card or data the reader has (marked ``# doctest: +SKIP``) are only
read."""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import rtdeclip

# not importable as plain modules: the entry point runs the CLI, the cffi
# builder reads the source tree
NOT_MODULES = {"rtdeclip.__main__", "rtdeclip._build"}


def modules():
    names = ["rtdeclip"]
    for info in pkgutil.walk_packages(rtdeclip.__path__, "rtdeclip."):
        if info.name not in NOT_MODULES and not info.name.startswith("rtdeclip._core"):
            names.append(info.name)
    return sorted(names)


def examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    for name in modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:   # an optional extra (service, cluster) not installed
            if (e.name or "").startswith("rtdeclip"):
                raise
            yield pytest.param(None, id=name, marks=pytest.mark.skip(f"needs {e.name}"))
            continue
        for test in finder.find(module, name):
            if test.examples:
                yield pytest.param(test, id=test.name)


def test_the_package_has_doctests():
    found = [t.values[0].name for t in examples() if t.values[0] is not None]
    assert len(found) >= 5, found       # Declipper, declip, resolve, errors, ...


@pytest.mark.parametrize("test", list(examples()))
def test_doctest(test):
    np.random.seed(0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {test.name}"

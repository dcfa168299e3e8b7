"""Build of the C core; everything else is in pyproject.toml.

``cffi_modules`` cannot be declared in pyproject.toml, hence this file.
The public C header ``csrc/rtdeclip.h`` also goes into the package
(``rtdeclip/include/rtdeclip.h``) so that code built against the installed
library (plug-ins, other hosts) finds it without the source tree.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HEADERS = ["csrc/rtdeclip.h"]


class build_py_with_header(build_py):
    def run(self):
        super().run()
        if self.editable_mode:   # an editable install reads csrc/ in place
            return
        dest = os.path.join(self.build_lib, "rtdeclip", "include")
        os.makedirs(dest, exist_ok=True)
        for h in HEADERS:
            shutil.copy(h, dest)


setup(cffi_modules=["rtdeclip/_build.py:ffibuilder"],
      cmdclass={"build_py": build_py_with_header})

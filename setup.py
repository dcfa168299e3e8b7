"""Build of the C core and the plug-ins; everything else is in pyproject.toml.

``cffi_modules`` cannot be declared in pyproject.toml, hence this file.
The plug-ins (a LADSPA library and an LV2 bundle, csrc/plugins/) are built
by a build_ext step after the cffi extension, with the compiler setuptools
configured, into the package: rtdeclip/plugins/ladspa/rtdeclip.so and
rtdeclip/plugins/lv2/rtdeclip.lv2/.  They link only the C core and FFTW.
``make -C csrc/plugins`` builds the same for distributions.  The public C
header ``csrc/rtdeclip.h`` goes into the package too
(``rtdeclip/include/rtdeclip.h``, ``rtdeclip.get_include()``), so code built
against the installed library finds it without the source tree.
"""
import glob
import os
import shutil

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
CORE_LIBRARIES = ["fftw3_threads", "fftw3", "m", "pthread"]


def core_sources():
    """The C core as the cffi extension builds it (rtdeclip/_build.py)."""
    ns = {"__file__": os.path.join(HERE, "rtdeclip", "_build.py"), "__name__": "plugins_build"}
    with open(ns["__file__"]) as f:
        exec(compile(f.read(), ns["__file__"], "exec"), ns)
    return [os.path.join("csrc", s) for s in ns["SOURCES"]], ns.get("LIBRARIES", CORE_LIBRARIES)


class build_ext_with_plugins(build_ext):
    """build_ext, then the LADSPA library and the LV2 bundle."""

    PLUGINS = {  # wrapper -> (folder in the package, file name)
        "ladspa": (os.path.join("rtdeclip", "plugins", "ladspa"), "rtdeclip.so"),
        "lv2": (os.path.join("rtdeclip", "plugins", "lv2", "rtdeclip.lv2"), "rtdeclip.so"),
    }

    def run(self):
        super().run()
        self.build_plugins()

    def _target_dir(self, folder):
        return os.path.join(HERE if self.inplace else self.build_lib, folder)

    def build_plugins(self):
        sources, libraries = core_sources()
        common = sources + ["csrc/plugins/engine.c", "csrc/plugins/limiter.c"]
        args = ["-std=c99", "-O3", "-D_GNU_SOURCE", "-Wall", "-fvisibility=hidden"]
        for name, (folder, filename) in self.PLUGINS.items():
            tmp = os.path.join(self.build_temp, "plugins", name)
            objects = self.compiler.compile(
                common + [f"csrc/plugins/{name}.c"], output_dir=tmp,
                include_dirs=["csrc", "csrc/plugins"], extra_postargs=args)
            out_dir = self._target_dir(folder)
            os.makedirs(out_dir, exist_ok=True)
            self.compiler.link_shared_object(
                objects, os.path.join(out_dir, filename), libraries=libraries,
                extra_postargs=["-Wl,-z,defs"])
            if name == "lv2":
                for ttl in glob.glob(os.path.join(HERE, "csrc", "plugins", "lv2", "*.ttl")):
                    shutil.copy(ttl, out_dir)

    def get_outputs(self):
        outs = super().get_outputs()
        for name, (folder, filename) in self.PLUGINS.items():
            out_dir = os.path.join(self.build_lib, folder)
            outs.append(os.path.join(out_dir, filename))
            if name == "lv2":
                outs += [os.path.join(out_dir, os.path.basename(t)) for t in
                         glob.glob(os.path.join(HERE, "csrc", "plugins", "lv2", "*.ttl"))]
        return outs


class build_py_with_header(build_py):
    """build_py, then the public header into rtdeclip/include/."""

    HEADERS = [os.path.join("csrc", "rtdeclip.h")]

    def run(self):
        super().run()
        if self.editable_mode:   # an editable install reads csrc/ in place
            return
        dest = os.path.join(self.build_lib, "rtdeclip", "include")
        os.makedirs(dest, exist_ok=True)
        for h in self.HEADERS:
            shutil.copy(os.path.join(HERE, h), dest)


setup(cffi_modules=["rtdeclip/_build.py:ffibuilder"],
      cmdclass={"build_ext": build_ext_with_plugins, "build_py": build_py_with_header})

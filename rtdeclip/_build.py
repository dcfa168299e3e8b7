"""cffi builder (API mode) for the C core: ``rtdeclip._core``.

Run by setup.py through ``cffi_modules``; the declarations come from
``csrc/rtdeclip.h`` itself.
"""
import os

from cffi import FFI

# setuptools wants paths relative to the project root, where it runs
_ROOT = os.path.relpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CSRC = os.path.join(_ROOT, "csrc")
SOURCES = ["stream.c", "spade.c", "select.c", "planner.c", "windows.c", "workers.c", "presets.c", "social.c",
           "source_rate.c", "named_stream.c"]
LIBRARIES = ["fftw3_threads", "fftw3", "fftw3f_threads", "fftw3f", "m", "pthread"]  # setup.py links the plug-ins with these too



def public_declarations(header):
    """The header's declarations for cffi's cdef: the header is the one
    source of truth, so only preprocessor lines and the C++ guard go."""
    keep = []
    for line in open(header):
        stripped = line.strip()
        if stripped.startswith("#") or stripped in ('extern "C" {', "}") and \
                not line.startswith("} "):
            continue
        keep.append(line)
    return "".join(keep)


# the preset table (presets.h) is declared too: tests check it against params.py
CDEF = public_declarations(os.path.join(CSRC, "rtdeclip.h")) + \
    public_declarations(os.path.join(CSRC, "rtdeclip_testing.h")) + \
    public_declarations(os.path.join(CSRC, "presets.h"))

ffibuilder = FFI()
ffibuilder.cdef(CDEF)

_extra_compile = ["-std=c99", "-O3", "-D_GNU_SOURCE", "-Wall"]
_extra_link = []
if os.environ.get("RTDECLIP_SANITIZE"):
    # ASan + UBSan build for the reliability suite (run with LD_PRELOAD of libasan)
    _san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"]
    _extra_compile = ["-std=c99", "-D_GNU_SOURCE", "-Wall"] + _san
    _extra_link = _san

ffibuilder.set_source(
    "rtdeclip._core",
    '#include "rtdeclip.h"\n#include "rtdeclip_testing.h"\n#include "presets.h"',
    sources=[os.path.join(CSRC, f) for f in SOURCES],
    include_dirs=[CSRC],
    libraries=LIBRARIES,
    extra_compile_args=_extra_compile,
    extra_link_args=_extra_link,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)

"""Build the C extension into a copy of the package outside the tree.

    python3 scripts/build_copy.py DEST [--sanitize]

DEST/rtdeclip is the package's Python files plus an extension compiled from
csrc/ (with -fsanitize=address,undefined when --sanitize); put DEST first on
PYTHONPATH to test it.  The working tree and its in-place extension are not
touched, so others can keep running tests meanwhile.
"""
import glob
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    dest = os.path.abspath(sys.argv[1])
    if "--sanitize" in sys.argv:
        os.environ["RTDECLIP_SANITIZE"] = "1"
    pkg = os.path.join(dest, "rtdeclip")
    if os.path.exists(pkg):
        shutil.rmtree(pkg)
    shutil.copytree(os.path.join(ROOT, "rtdeclip"), pkg,
                    ignore=shutil.ignore_patterns("*.so", "__pycache__", "_core.c", "*.o"))
    os.chdir(ROOT)  # _build.py names the sources relative to the project root
    sys.path.insert(0, os.path.join(ROOT, "rtdeclip"))
    import _build
    # cffi compiles inside tmpdir: make the source and include paths absolute
    kwds = _build.ffibuilder._assigned_source[3]
    kwds["sources"] = [os.path.abspath(f) for f in kwds["sources"]]
    kwds["include_dirs"] = [os.path.abspath(f) for f in kwds["include_dirs"]]
    so = _build.ffibuilder.compile(tmpdir=os.path.join(dest, "build"), verbose=False)
    for old in glob.glob(os.path.join(pkg, "_core*.so")):
        os.remove(old)
    shutil.copy(so, pkg)
    print(os.path.join(pkg, os.path.basename(so)))


if __name__ == "__main__":
    main()

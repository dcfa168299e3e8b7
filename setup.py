"""Build of the C core; everything else is in pyproject.toml.

``cffi_modules`` cannot be declared in pyproject.toml, hence this file.
"""
from setuptools import setup

setup(cffi_modules=["rtdeclip/_build.py:ffibuilder"])

"""Cython's pure-Python names, for running the engine interpreted where Cython is not
installed (it is only needed to build the compiled core). Interpreted, the type
declarations of the engine's modules mean nothing: the decorators return what they
decorate and `declare` returns None; compiled, Cython reads them as C types.

    try:
        import cython
    except ImportError:
        from . import purecython as cython
"""

from __future__ import annotations

compiled = False


def _same(thing=None, *args, **kwargs):
    if callable(thing) and not args and not kwargs:
        return thing  # used as @decorator
    return lambda function: function  # used as @decorator(...)


cclass = cfunc = ccall = inline = final = _same
locals = exceptval = boundscheck = wraparound = cdivision = _same  # noqa: A001 - Cython's names


def declare(kind=None, value=None, **_visibility):
    return value


def cast(kind, value, **_kwargs):
    return value


class _Type:
    def __getitem__(self, _dims):
        return self  # int[:] and the like


int = double = Py_ssize_t = bint = schar = char = longlong = _Type()  # noqa: A001

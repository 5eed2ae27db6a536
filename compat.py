"""Make Chainer 7.8.1 import and run on NumPy >= 2, Python >= 3.12 and CuPy >= 13.

Import this module before the first ``import chainer``. Each patch is applied
only when the thing Chainer needs is missing, so on the pinned stack
(Python 3.11, NumPy 1.26, setuptools < 81, no CuPy) importing it changes nothing.
"""
import importlib.util
import sys
import types

import numpy as np


def _missing(name):
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


# chainer/functions/array/as_strided.py:10,252 read np.sctypes (removed in NumPy 2.0).
if 'sctypes' not in vars(np):
    np.sctypes = {
        'int': [np.int8, np.int16, np.int32, np.int64],
        'uint': [np.uint8, np.uint16, np.uint32, np.uint64],
        'float': [np.float16, np.float32, np.float64, np.longdouble],
        'complex': [np.complex64, np.complex128, np.clongdouble],
        'others': [bool, object, bytes, str, np.void],
    }

# chainer/_environment_check.py:6 imports numpy.distutils.system_info (gone with
# NumPy 2 on Python >= 3.12); it only calls get_info('blas_opt') on macOS.
if _missing('numpy.distutils'):
    _info = types.ModuleType('numpy.distutils.system_info')
    _info.get_info = lambda name, notfound_action=0: {}
    _dist = types.ModuleType('numpy.distutils')
    _dist.system_info = _info
    sys.modules.update({'numpy.distutils': _dist, 'numpy.distutils.system_info': _info})
    np.distutils = _dist

# chainer/_environment_check.py:7 imports pkg_resources (removed in setuptools 81);
# it only uses it to warn about a CuPy version mismatch, which the stub skips.
if _missing('pkg_resources'):
    _pr = types.ModuleType('pkg_resources')
    _pr.DistributionNotFound = type('DistributionNotFound', (Exception,), {})
    _pr.VersionConflict = type('VersionConflict', (Exception,), {})

    def _require(requirement):
        raise _pr.DistributionNotFound(requirement)
    _pr.require = _require
    sys.modules['pkg_resources'] = _pr

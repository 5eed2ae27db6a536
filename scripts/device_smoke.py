"""GPU smoke test for Chainer + CuPy on a lent GPU machine (a few seconds).

Trains network.UNet for 3 Adam steps on GPU 0 with a random (4, 1, 512, 128)
batch, then checks one inference forward against the CPU result of the same
weights and input. Prints ``GPU SMOKE OK`` or ``GPU SMOKE FAILED: <reason>``
(exit status 1); on a machine without a usable GPU it fails cleanly.

    python3 scripts/device_smoke.py
"""
import argparse
import os
import platform
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROG = 'device_smoke.py'
SHAPE = (4, 1, 512, 128)
TOL = 1e-3


class SmokeError(Exception):
    pass


def run():
    import numpy as np
    import compat  # noqa: F401  (before chainer)
    import chainer
    from chainer.backends import cuda

    import network

    print('python', platform.python_version(), '| numpy', np.__version__,
          '| chainer', chainer.__version__)
    try:
        import cupy
        print('cupy', cupy.__version__)
    except Exception as err:       # noqa: BLE001
        raise SmokeError('no GPU: cupy not importable ({}: {})'.format(
            type(err).__name__, err))
    if not cuda.available:
        raise SmokeError('no GPU: chainer.backends.cuda.available is False ({}: {})'.format(
            type(cuda._resolution_error).__name__,
            str(cuda._resolution_error).strip().splitlines()[0][:200]))
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:       # noqa: BLE001
        raise SmokeError('no GPU: {}: {}'.format(type(err).__name__, err))
    if count < 1:
        raise SmokeError('no GPU: getDeviceCount() is 0')
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props['name'].decode() if isinstance(props['name'], bytes) else props['name']
    print('device 0:', name, '| CUDA runtime', cupy.cuda.runtime.runtimeGetVersion(),
          '| cuda.available', cuda.available, '| cudnn_enabled', cuda.cudnn_enabled)

    rng = np.random.default_rng(0)
    mix = rng.random(SHAPE, dtype=np.float32)
    speech = (mix * rng.random(SHAPE, dtype=np.float32)).astype(np.float32)

    cuda.get_device_from_id(0).use()
    unet = network.UNet()
    model = network.UNetTrainmodel(unet)
    model.to_gpu(0)
    opt = chainer.optimizers.Adam(alpha=1e-3)
    opt.setup(model)
    x_gpu, y_gpu = cuda.to_gpu(mix, 0), cuda.to_gpu(speech, 0)
    with chainer.using_config('train', True):
        for step in range(3):
            t0 = time.time()
            loss = model(x_gpu, y_gpu)
            model.cleargrads()
            loss.backward()
            opt.update()
            cupy.cuda.Device(0).synchronize()
            value = float(cuda.to_cpu(loss.array))
            print('step {}: loss {:.6f} ({:.2f} s)'.format(step, value, time.time() - t0))
            if not np.isfinite(value):
                raise SmokeError('loss is not finite at step {}'.format(step))
    for name_, param in model.namedparams():
        if param.grad is None or not bool(cupy.isfinite(param.grad).all()):
            raise SmokeError('gradient of {} is missing or not finite'.format(name_))

    with chainer.using_config('train', False), chainer.no_backprop_mode():
        out_gpu = cuda.to_cpu(unet(x_gpu).array)
        cpu_unet = unet.copy(mode='copy')
        cpu_unet.to_cpu()
        out_cpu = cpu_unet(mix).array
    if out_gpu.shape != SHAPE or not np.all(np.isfinite(out_gpu)):
        raise SmokeError('inference output has shape {} or non-finite values'.format(
            out_gpu.shape))
    diff = float(np.max(np.abs(out_gpu - out_cpu)))
    print('inference: max |GPU - CPU| = {:.2e} (tolerance {:g})'.format(diff, TOL))
    if not diff <= TOL:
        raise SmokeError('GPU and CPU inference differ by {:.2e}'.format(diff))

    # A snapshot written from GPU arrays reads back into a CPU model.
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'model_smoke')
        chainer.serializers.save_npz(path, unet)
        back = network.load_unet(path)
        with chainer.using_config('train', False), chainer.no_backprop_mode():
            if not np.allclose(back(mix).array, out_cpu, atol=1e-6):
                raise SmokeError('save_npz/load_npz round trip changed the output')


def build_parser():
    return argparse.ArgumentParser(
        prog=PROG, description=__doc__.splitlines()[0],
        epilog='Trains the U-Net for 3 Adam steps on GPU 0 with a random {} batch and '
               'checks one inference against the CPU\'s (within {:g}); prints GPU SMOKE OK, '
               'or GPU SMOKE FAILED: REASON with exit status 1. It takes no options; '
               'scripts/device_run.sh runs it first.'.format(SHAPE, TOL))


def main(argv=None):
    build_parser().parse_args(argv)
    try:
        run()
    except SmokeError as err:
        print('GPU SMOKE FAILED: {}'.format(err))
        return 1
    except BaseException as err:   # noqa: BLE001
        lines = traceback.format_exc().rstrip().splitlines()
        print('\n'.join(lines[-12:]))
        print('GPU SMOKE FAILED: {}: {}'.format(type(err).__name__,
                                                 str(err).strip().splitlines()[0][:200]
                                                 if str(err).strip() else ''))
        return 1
    print('GPU SMOKE OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())

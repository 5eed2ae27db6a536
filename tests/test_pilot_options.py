"""The pilots that run evaluate.py under other settings (scripts/adapt_bn_pilot.py,
eq_pilot.py, floor_experiment.py, band_bias_pilot.py evaluate,
phase_experiments.py, view_experiments.py, wide_pilot.py evaluate): their own
name, and the environment variables they read, in their help and errors."""
import os
import sys

import numpy as np
import pytest

import conftest
import evaluate
import make_separate
import network
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import adapt_bn_pilot  # noqa: E402
import band_bias_pilot  # noqa: E402
import eq_pilot  # noqa: E402
import floor_experiment  # noqa: E402
import phase_experiments  # noqa: E402
import view_experiments  # noqa: E402
import wide_pilot  # noqa: E402

# (main, the name in its help and errors, arguments before evaluate.py's,
# words its epilog must hold)
PILOTS = [
    pytest.param(adapt_bn_pilot.main, 'adapt_bn_pilot.py', [], ['Environment:', 'ALPHA'],
                 id='adapt_bn_pilot'),
    pytest.param(eq_pilot.main, 'eq_pilot.py', [],
                 ['Environment:', 'OCTAVES', 'EQ_REFERENCE', 'LIMIT_DB', 'CUT=1'],
                 id='eq_pilot'),
    pytest.param(floor_experiment.main, 'floor_experiment.py', [], ['Environment:', 'FLOORS'],
                 id='floor_experiment'),
    pytest.param(band_bias_pilot.evaluate_main, 'band_bias_pilot.py evaluate', [],
                 ['Environment:', 'CORRECTION'], id='band_bias_pilot'),
    pytest.param(phase_experiments.main, 'phase_experiments.py', [],
                 ['Environment:', 'REFINE=misi', 'MISI_ITERS', 'REFINE=residual'],
                 id='phase_experiments'),
    pytest.param(view_experiments.main, 'view_experiments.py', [],
                 ['Environment:', 'VIEWS=resample-plain', 'VIEWS=warp', 'VIEWS=reverse',
                  'VIEWS=model', 'OTHER_MODEL=PATH'], id='view_experiments'),
    pytest.param(wide_pilot.main, 'wide_pilot.py evaluate 1.5', ['evaluate', '1.5', '--'],
                 ['WIDTH'], id='wide_pilot'),
]

# The environment each run of a pilot below is given ({tmp}: the test's
# folder, {model}: a model file); each variant replaces other functions.
SETTINGS = [
    pytest.param(adapt_bn_pilot.main, 'adapt_bn_pilot.py', [], {}, id='adapt_bn_pilot'),
    pytest.param(eq_pilot.main, 'eq_pilot.py', [], {}, id='eq_pilot'),
    pytest.param(floor_experiment.main, 'floor_experiment.py', [], {}, id='floor_experiment'),
    pytest.param(band_bias_pilot.evaluate_main, 'band_bias_pilot.py evaluate', [],
                 {'CORRECTION': '{tmp}/corr.npz'}, id='band_bias_pilot'),
    pytest.param(phase_experiments.main, 'phase_experiments.py', [], {'REFINE': 'misi'},
                 id='phase_experiments-misi'),
    pytest.param(phase_experiments.main, 'phase_experiments.py', [], {'REFINE': 'residual'},
                 id='phase_experiments-residual'),
    pytest.param(view_experiments.main, 'view_experiments.py', [],
                 {'VIEWS': 'resample-plain'}, id='view_experiments-resample-plain'),
    pytest.param(view_experiments.main, 'view_experiments.py', [], {'VIEWS': 'warp'},
                 id='view_experiments-warp'),
    pytest.param(view_experiments.main, 'view_experiments.py', [], {'VIEWS': 'reverse'},
                 id='view_experiments-reverse'),
    pytest.param(view_experiments.main, 'view_experiments.py', [],
                 {'VIEWS': 'model', 'OTHER_MODEL': '{model}'}, id='view_experiments-model'),
    pytest.param(wide_pilot.main, 'wide_pilot.py evaluate 1.5', ['evaluate', '1.5', '--'], {},
                 id='wide_pilot'),
]


@pytest.fixture(autouse=True)
def plain_errors(monkeypatch):
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)
    for name in ('CORRECTION', 'REFINE', 'MISI_ITERS', 'VIEWS', 'OTHER_MODEL'):
        monkeypatch.delenv(name, raising=False)


def replaceable():
    """The functions (and class) of evaluate.py, make_separate.py, equalising.py
    and network.py that the pilots replace during their run."""
    return (make_separate.network_mask_fn, make_separate.levelled,
            evaluate.ModelMethod.estimate, evaluate.build_methods,
            eq_pilot.equalising.equalised, network.UNet)


@pytest.mark.parametrize('main, prog, before, words', PILOTS)
def test_the_help_is_the_pilots_own_and_names_its_environment(main, prog, before, words,
                                                               capsys):
    """-h had printed 'usage: evaluate.py' and evaluate.py's description,
    without the variables that set the pilot (none need be set for it)."""
    with pytest.raises(SystemExit) as stop:
        main(before + ['-h'])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: {} '.format(prog))
    assert 'Score speech estimates against reference speech' not in out
    epilog = ' '.join(out.strip().split('\n\n')[-1].split())
    assert all(word in epilog for word in words), epilog
    assert words[0] in ('Environment:', 'WIDTH') and epilog.startswith(words[0]), epilog


@pytest.mark.parametrize('main, prog, before, environment', SETTINGS)
def test_a_mistake_is_one_line_in_the_pilots_name_and_evaluate_py_is_put_back(
        main, prog, before, environment, tmp_path, model_path, monkeypatch, capsys):
    np.savez(str(tmp_path / 'corr.npz'), a=np.ones(512), b=np.zeros(512))
    for name, value in environment.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path, model=model_path))
    patched = replaceable()
    err = conftest.refusal(main, prog, before + ['-i', str(tmp_path / 'none')], capsys)
    assert '-i {}: no such folder'.format(tmp_path / 'none') in err
    assert replaceable() == patched


@pytest.mark.parametrize('main, variable', [(phase_experiments.main, 'REFINE'),
                                            (view_experiments.main, 'VIEWS')])
def test_a_variant_is_asked_for_once_the_options_are_read(main, variable, tmp_path, capsys):
    """Without the variable, the options are still checked first, and the
    pilot then asks for it in its own name; nothing is left replaced."""
    patched = replaceable()
    with pytest.raises(SystemExit) as stop:
        main(['--no-such-option'])
    assert stop.value.code == 2 and 'unrecognized arguments' in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(['-i', str(tmp_path / 'none')])
    message = str(stop.value.code)
    assert message.startswith(os.path.basename(main.__globals__['__file__']) + ': set ')
    assert variable + '=' in message
    assert replaceable() == patched


@pytest.mark.parametrize('name, content, problem', [
    (None, None, 'set CORRECTION to the npz file'),
    ('missing.npz', None, 'No such file or directory'),
    ('text.npz', 'not numbers', 'not an npz of a and b (512,)'),
    ('bare.npy', {'': np.ones(512)}, 'not an npz of a and b (512,)'),
    ('no_b.npz', {'a': np.ones(512)}, 'not an npz of a and b (512,)'),
    ('short.npz', {'a': np.ones(4), 'b': np.zeros(4)}, 'not an npz of a and b (512,)')])
def test_a_correction_that_is_not_fits_is_one_line(name, content, problem, tmp_path,
                                                    monkeypatch, capsys):
    """An unset CORRECTION had ended in a traceback (KeyError: 'CORRECTION'),
    as had a missing or foreign file."""
    if name is not None:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content)
        elif name.endswith('.npy'):
            np.save(str(path), content[''])
        elif content is not None:
            np.savez(str(path), **content)
        monkeypatch.setenv('CORRECTION', str(path))
    patched = replaceable()
    err = conftest.refusal(band_bias_pilot.evaluate_main, 'band_bias_pilot.py evaluate',
                           ['-i', str(tmp_path)], capsys)
    assert problem in err
    if name is not None:
        assert 'CORRECTION={}: '.format(tmp_path / name) in err
    assert replaceable() == patched

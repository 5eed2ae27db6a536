"""The pilots that run evaluate.py under other settings (scripts/adapt_bn_pilot.py,
eq_pilot.py, floor_experiment.py): their own name, and the environment
variables they read, in their help and errors."""
import os
import sys

import pytest

import conftest
import evaluate
import make_separate
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import adapt_bn_pilot  # noqa: E402
import eq_pilot  # noqa: E402
import floor_experiment  # noqa: E402

PILOTS = [(adapt_bn_pilot, ['ALPHA']),
          (eq_pilot, ['OCTAVES', 'EQ_REFERENCE', 'LIMIT_DB', 'CUT=1']),
          (floor_experiment, ['FLOORS'])]


@pytest.fixture(autouse=True)
def plain_errors(monkeypatch):
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)


@pytest.mark.parametrize('pilot, variables', PILOTS)
def test_the_help_is_the_pilots_own_and_names_its_environment(pilot, variables, capsys):
    """-h had printed 'usage: evaluate.py' and evaluate.py's description,
    without the variables that set the pilot."""
    with pytest.raises(SystemExit) as stop:
        pilot.main(['-h'])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    prog = os.path.basename(pilot.__file__)
    assert out.startswith('usage: {} '.format(prog))
    assert 'Score speech estimates against reference speech' not in out
    epilog = ' '.join(out.split('\nEnvironment: ', 1)[1].split())
    assert all(name in epilog for name in variables), epilog


@pytest.mark.parametrize('pilot, variables', PILOTS)
def test_a_mistake_is_one_line_in_the_pilots_name_and_evaluate_py_is_put_back(
        pilot, variables, tmp_path, capsys):
    patched = (make_separate.network_mask_fn, evaluate.ModelMethod.estimate,
               evaluate.build_methods, eq_pilot.equalising.equalised)
    err = conftest.refusal(pilot.main, os.path.basename(pilot.__file__),
                           ['-i', str(tmp_path / 'none')], capsys)
    assert '-i {}: no such folder'.format(tmp_path / 'none') in err
    assert (make_separate.network_mask_fn, evaluate.ModelMethod.estimate,
            evaluate.build_methods, eq_pilot.equalising.equalised) == patched

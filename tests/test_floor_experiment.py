"""scripts/floor_experiment.py: the speech estimate with the mixture under it."""
import csv
import os
import sys
import types

import numpy as np
import pytest

from conftest import ROOT
from test_evaluate import make_refs

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import evaluate  # noqa: E402
import floor_experiment  # noqa: E402


class CountingMethod:
    label = 'fake'

    def __init__(self):
        self.calls = 0

    def describe(self):
        return 'fake'

    def estimate(self, item):
        self.calls += 1
        return 0.25 * item.mixture


def test_floored_estimate_blends_with_the_mixture_and_separates_once():
    plain = floor_experiment.RememberingMethod(CountingMethod())
    floored = floor_experiment.FlooredMethod(plain, 0.2)
    item = types.SimpleNamespace(mixture=np.linspace(-1, 1, 100, dtype=np.float32))
    np.testing.assert_allclose(plain.estimate(item), 0.25 * item.mixture)
    np.testing.assert_allclose(floored.estimate(item), (0.25 + 0.2 * 0.75) * item.mixture,
                               rtol=1e-6)
    assert plain.method.calls == 1          # the floor reused the plain estimate
    other = types.SimpleNamespace(mixture=np.ones(100, np.float32))
    np.testing.assert_allclose(floored.estimate(other), 0.4, rtol=1e-6)
    assert plain.method.calls == 2          # a new item is separated afresh
    assert floored.label == 'fake+floor0.2'


def test_cli_scores_each_floor_beside_the_model(model_path, tmp_path, monkeypatch, capsys):
    names = make_refs(tmp_path / 'mix')
    monkeypatch.setenv('FLOORS', '0.5 0.9999')
    out_csv = tmp_path / 'floor.csv'
    build_methods = evaluate.build_methods
    status = floor_experiment.main(['-i', str(tmp_path / 'mix'), '-m', model_path, '--quick',
                                    '--shifts', '1', '--speeds', '1', '--csv', str(out_csv)])
    assert status == 0, capsys.readouterr().err
    assert evaluate.build_methods is build_methods      # evaluate.py as it was
    with open(out_csv, newline='') as handle:
        rows = list(csv.DictReader(handle))
    label = os.path.basename(model_path)
    methods = (label, label + '+floor0.5', label + '+floor0.9999')
    assert sorted((r['name'], r['method']) for r in rows) == sorted(
        (n, m) for n in names for m in methods)
    for row in rows:
        if row['method'] == label + '+floor0.9999':     # nearly the mixture itself
            assert float(row['si_sdr']) == pytest.approx(float(row['si_sdr_mix']), abs=0.01)


def test_floors_outside_zero_to_one_are_refused(monkeypatch):
    for text in ('0.1 1.5', '0', 'a tenth'):
        monkeypatch.setenv('FLOORS', text)
        with pytest.raises(SystemExit, match='FLOORS must be shares'):
            floor_experiment.floors_from_environment()
    monkeypatch.delenv('FLOORS')
    assert floor_experiment.floors_from_environment() == floor_experiment.DEFAULT_FLOORS

"""The scripts for a lent GPU machine: device_run.sh read, not run (it trains
for minutes there), and device_smoke.py's options."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVICE_RUN = os.path.join(ROOT, 'scripts', 'device_run.sh')


def code_lines(path):
    """The lines of the shell script ``path`` that are not comments."""
    with open(path) as handle:
        return [line for line in handle if not line.lstrip().startswith('#')]


def test_device_run_is_valid_bash():
    assert subprocess.run(['bash', '-n', DEVICE_RUN]).returncode == 0


def test_device_run_clears_and_writes_only_its_own_work_folder():
    """docs/SCALING.md rehearses the script on a CPU, where it had removed
    /tmp/run, /tmp/run_b and /tmp/avg_last3 and written /tmp/sep_gpu.wav
    and /tmp/out, whoever else's those were: the only /tmp left is the
    default of WORK, a new folder of mktemp's."""
    lines = code_lines(DEVICE_RUN)
    assert [line for line in lines if '/tmp' in line] == [
        'WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/device_run.XXXXXX")} || exit 1\n']
    removed = [target for line in lines for target in re.findall(r'\brm -\w+ (\S+)', line)]
    assert removed and all(target.startswith('"$WORK/') for target in removed), removed
    assert 'OUT=${OUT:-$WORK/out}' in ''.join(lines)


def test_device_smoke_help_is_help_and_runs_nothing(monkeypatch, capsys):
    """``device_smoke.py -h`` had run the smoke test (a CPU machine: GPU
    SMOKE FAILED and status 1) instead of showing what it does."""
    sys.path.insert(0, os.path.join(ROOT, 'scripts'))
    import device_smoke
    monkeypatch.setattr(device_smoke, 'run', lambda: pytest.fail('the smoke test ran'))
    with pytest.raises(SystemExit) as stop:
        device_smoke.main(['-h'])
    assert stop.value.code == 0
    out = ' '.join(capsys.readouterr().out.split())
    assert out.startswith('usage: device_smoke.py [-h]') and 'prints GPU SMOKE OK' in out
    with pytest.raises(SystemExit) as stop:
        device_smoke.main(['--gpu', '1'])
    assert stop.value.code == 2 and 'unrecognized arguments: --gpu 1' in capsys.readouterr().err

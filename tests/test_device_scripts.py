"""scripts/device_run.sh read, not run: it trains for minutes on a lent GPU."""
import os
import re
import subprocess

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

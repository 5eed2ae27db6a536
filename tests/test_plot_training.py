"""scripts/plot_training.py: the loss history of staged train.py runs."""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'scripts'))
import conftest  # noqa: E402
import plot_training  # noqa: E402


@pytest.fixture(autouse=True)
def plain_errors(monkeypatch):
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)


def write_log(path, entries):
    path.write_text(json.dumps(entries))
    return str(path)


def two_entries(tmp_path):
    return write_log(tmp_path / 'log', [
        {'iteration': 10, 'main/loss': 0.5, 'validation/main/loss': 0.6},
        {'iteration': 20, 'main/loss': 0.4}])


def refusal(argv, capsys):
    return conftest.refusal(plot_training.main, 'plot_training.py', argv, capsys)


def test_two_staged_logs_are_drawn_into_the_file_named(tmp_path, capsys):
    out = tmp_path / 'loss.svg'
    log = two_entries(tmp_path)
    assert plot_training.main([log, log, '--labels', 'a', 'b', '-o', str(out)]) == 0
    assert out.read_text().startswith('<?xml')
    assert capsys.readouterr().out == 'wrote {}\n'.format(out)
    assert sorted(os.listdir(str(tmp_path))) == ['log', 'loss.svg']     # no temporary left


def test_an_output_without_extension_is_a_png_and_printed_so(tmp_path, capsys):
    out = tmp_path / 'mylog'
    assert plot_training.main([two_entries(tmp_path), '-o', str(out)]) == 0
    assert (tmp_path / 'mylog.png').read_bytes().startswith(b'\x89PNG')
    assert capsys.readouterr().out == 'wrote {}.png\n'.format(out)


@pytest.mark.parametrize('content, words', [
    (None, 'No such file or directory'),
    ('folder', 'Is a directory'),
    ('{', 'not a JSON LogReport log'),
    ('{"iteration": 1}', 'not a LogReport log (a JSON list of entries)'),
    ('[]', 'no entries yet'),
    ('[{"iteration": 1}]', 'an entry without a number for main/loss'),
    ('[{"main/loss": 0.5}]', 'an entry without a number for iteration'),
    ('[{"iteration": 1, "main/loss": null}]', 'an entry without a number for main/loss'),
    ('[{"iteration": 1, "main/loss": 0.5, "validation/main/loss": "0.4"}]',
     'iteration 1: validation/main/loss is "0.4", not a number'),
    ('[{"iteration": 1, "main/loss": 0.5, "validation/main/loss": {"a": 1}}]',
     'iteration 1: validation/main/loss is {"a": 1}, not a number'),
])
def test_a_bad_log_is_one_line_naming_it_and_nothing_is_written(content, words, tmp_path,
                                                                capsys):
    log = tmp_path / 'log'
    if content == 'folder':
        log.mkdir()
    elif content is not None:
        log.write_text(content)
    out = tmp_path / 'loss.png'
    err = refusal([str(log), '-o', str(out)], capsys)
    assert '{}: {}'.format(log, words) in err
    assert not out.exists()


def test_a_format_matplotlib_cannot_write_is_one_line(tmp_path, capsys):
    err = refusal([two_entries(tmp_path), '-o', str(tmp_path / 'out.xyz')], capsys)
    assert 'out.xyz: matplotlib cannot write .xyz files' in err
    assert not (tmp_path / 'out.xyz').exists()


def test_the_default_output_outside_the_repository_root_is_one_line(tmp_path, capsys,
                                                                    monkeypatch):
    log = two_entries(tmp_path)
    monkeypatch.chdir(tmp_path)
    err = refusal([log], capsys)
    assert ('-o result/loss_curve.png: the folder result does not exist; run from the '
            'repository root') in err
    assert not (tmp_path / 'result').exists()


def test_the_default_output_is_git_ignored_and_the_help_names_it(tmp_path, capsys,
                                                                 monkeypatch):
    """It had been docs/loss.png, a file left untracked in docs/ (removed
    from the repository since) by a help that said 'Draw docs/loss.png'."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'result').mkdir()
    assert plot_training.main([two_entries(tmp_path)]) == 0
    assert (tmp_path / 'result' / 'loss_curve.png').read_bytes().startswith(b'\x89PNG')
    ignored = subprocess.run(['git', '-C', root, 'check-ignore', '-q', '--no-index',
                              'result/loss_curve.png'])
    assert ignored.returncode == 0
    with pytest.raises(SystemExit):
        plot_training.main(['-h'])
    help_text = ' '.join(capsys.readouterr().out.split())
    assert 'docs/loss.png' not in help_text
    assert '(default: result/loss_curve.png, from the repository root)' in help_text


def labels_drawn(tmp_path, monkeypatch, logs):
    """The (x, y) axis labels ``main`` draws for ``logs``."""
    figures = []
    with monkeypatch.context() as patch:
        patch.setattr(plot_training.plt, 'close', figures.append)   # kept to be read
        assert plot_training.main(logs + ['-o', str(tmp_path / 'loss.png')]) == 0
    axis = figures[0].axes[0]
    labels = axis.get_xlabel(), axis.get_ylabel()
    plot_training.plt.close(figures[0])
    return labels


def run_folder(tmp_path, name, **args):
    """``tmp_path/name/log``, with train.py's args.json of ``args`` beside it unless none."""
    (tmp_path / name).mkdir()
    if args:
        (tmp_path / name / 'args.json').write_text(json.dumps(dict(args, communicator='')))
    return two_entries(tmp_path / name)


def test_the_axes_say_what_the_runs_args_json_say(tmp_path, monkeypatch):
    """The x axis had always said 16 patches of 128 frames (train.py's -b is
    64); the y axis is the L1 that train.py logs whatever its --loss."""
    first = run_folder(tmp_path, 'r1', batchsize=64, patchlength=128, loss='l1')
    second = run_folder(tmp_path, 'r2', batchsize=64, patchlength=128, loss='snr')
    third = run_folder(tmp_path, 'r3', batchsize=32, patchlength=256, loss='snr')
    bare = run_folder(tmp_path, 'r4')
    assert labels_drawn(tmp_path, monkeypatch, [first]) == (
        'iteration (64 patches of 128 frames each)', 'L1 loss on normalised magnitudes')
    assert labels_drawn(tmp_path, monkeypatch, [first, second]) == (
        'iteration (64 patches of 128 frames each)', 'L1 loss on normalised magnitudes')
    assert labels_drawn(tmp_path, monkeypatch, [second, third]) == (
        'iteration', 'L1 loss on normalised magnitudes')
    assert labels_drawn(tmp_path, monkeypatch, [first, bare]) == ('iteration', 'loss')


def test_labels_that_do_not_match_the_logs_are_one_line(tmp_path, capsys):
    log, out = two_entries(tmp_path), tmp_path / 'loss.png'
    err = refusal([log, log, '--labels', 'only-one', '-o', str(out)], capsys)
    assert '1 label for 2 logs' in err and not out.exists()


def test_the_figure_never_replaces_a_log(tmp_path, capsys):
    log = write_log(tmp_path / 'log.png', [{'iteration': 1, 'main/loss': 0.5}])
    err = refusal([log, '-o', log], capsys)
    assert 'is one of the logs' in err
    assert json.loads((tmp_path / 'log.png').read_text()) == [{'iteration': 1, 'main/loss': 0.5}]

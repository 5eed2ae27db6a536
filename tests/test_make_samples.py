"""scripts/make_samples.py: the README's samples, checked whole before any is written."""
import os
import signal
import sys

import numpy as np
import pytest

import make_separate
import util
from conftest import chirp, harmonic_stack, noise_bursts, write

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'scripts'))
import conftest  # noqa: E402
import make_samples  # noqa: E402


@pytest.fixture(autouse=True)
def plain_errors(monkeypatch):
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)


def mixture(folder, name, reference=True, ext='.wav', seed=0):
    """``folder/name.wav`` (2 s; its music noise bursts of ``seed``), with
    ``name.speech.wav`` beside it unless not ``reference`` (both of
    extension ``ext``)."""
    speech, subtype = chirp(2.0), 'PCM_16' if ext == '.flac' else 'FLOAT'
    if reference:
        write(folder / (name + '.speech' + ext), speech, subtype=subtype)
    return write(folder / (name + ext), speech + noise_bursts(2.0, seed=seed), subtype=subtype)


def listing(folder):
    """Every name in ``folder``, hidden ones too, sorted."""
    return sorted(os.listdir(str(folder)))


def outputs(tmp_path):
    return ['--mixdown', str(tmp_path / 'mixdown'), '--separate', str(tmp_path / 'separate')]


def test_each_mixture_becomes_a_cut_sample_and_its_separation(tmp_path, model_path, capsys):
    inputs = [mixture(tmp_path / 'eval', 'a'), mixture(tmp_path / 'eval', 'b')]
    assert make_samples.main(inputs + ['-m', model_path, '--seconds', '1'] + outputs(tmp_path)) == 0
    for k in (1, 2):
        for folder in ('mixdown', 'separate'):
            path = str(tmp_path / folder / 'sample{}.wav'.format(k))
            assert len(util.load_audio(path)) == 16000
    out = capsys.readouterr().out
    assert 'sample1: 1 s from a' in out and 'sample2: 1 s from b' in out


def test_a_missing_reference_is_one_line_and_the_old_samples_stay(tmp_path, model_path,
                                                                  capsys):
    """The second input lacks NAME.speech.wav: before, sample1 was rewritten
    and then a traceback left the set half-updated."""
    old = write(tmp_path / 'mixdown' / 'sample1.wav', harmonic_stack(1.0), subtype='PCM_16')
    before = open(old, 'rb').read()
    inputs = [mixture(tmp_path / 'eval', 'a'), mixture(tmp_path / 'eval', 'b', reference=False)]
    err = refusal(inputs + ['-m', model_path] + outputs(tmp_path), capsys)
    assert 'b.wav: no reference {} beside it'.format(tmp_path / 'eval' / 'b.speech.wav') in err
    assert open(old, 'rb').read() == before
    assert os.listdir(str(tmp_path / 'mixdown')) == ['sample1.wav']
    assert not (tmp_path / 'separate').exists()


@pytest.mark.parametrize('case, words', [
    ('no input', 'none.wav: no such file'),
    ('no model', 'nomodel: model file not found'),
    ('--seconds 0', '--seconds 0: the length of each sample must be a positive number'),
    ('--seconds -1', '--seconds -1: the length of each sample must be a positive number'),
    ('--figure', 'fig.xyz: not a format matplotlib writes'),
    ('figure on the model', 'the output is one of the inputs'),
])
def test_a_mistake_is_one_line_and_nothing_is_written(case, words, tmp_path, model_path,
                                                      capsys):
    argv = [mixture(tmp_path / 'eval', 'a'), '-m', model_path] + outputs(tmp_path)
    if case == 'no input':
        argv.insert(1, str(tmp_path / 'eval' / 'none.wav'))
    elif case == 'no model':
        argv[2] = 'nomodel'
    elif case == '--figure':
        argv += ['--figure', str(tmp_path / 'fig.xyz')]
    elif case == 'figure on the model':          # a model named .png was made a figure
        model = str(tmp_path / 'eval' / 'model.png')
        with open(model_path, 'rb') as source, open(model, 'wb') as target:
            target.write(source.read())
        argv[2] = model
        argv += ['--figure', model]
    else:
        argv += case.split()
    assert words in refusal(argv, capsys)
    assert sorted(os.listdir(str(tmp_path))) == ['eval']


def test_a_mixture_with_a_flac_reference_is_taken(tmp_path, model_path):
    """b.flac with b.speech.flac beside it, as evaluate.py takes it: only
    b.speech.wav had been looked for."""
    argv = [mixture(tmp_path / 'eval', 'b', ext='.flac'), '-m', model_path, '--seconds', '1']
    assert make_samples.main(argv + outputs(tmp_path)) == 0
    assert len(util.load_audio(str(tmp_path / 'separate' / 'sample1.wav'))) == 16000


def test_one_folder_for_mixdown_and_separate_is_one_line_and_nothing_is_written(
        tmp_path, model_path, capsys):
    """Each estimate had been written over the cut mixture it came from."""
    argv = [mixture(tmp_path / 'eval', 'a'), '-m', model_path,
            '--mixdown', str(tmp_path / 'both'), '--separate', str(tmp_path / 'both')]
    assert '--mixdown and --separate both write {}'.format(
        tmp_path / 'both' / 'sample1.wav') in refusal(argv, capsys)
    assert listing(tmp_path) == ['eval']


@pytest.mark.parametrize('case, words', [
    ('longer reference', "a reference must have its mixture's length"),
    ('empty mixture', 'a.wav: holds no samples'),
])
def test_a_reference_unlike_its_mixture_is_refused_before_anything_is_written(
        case, words, tmp_path, model_path, capsys):
    """A reference loudest past its mixture's end had left an empty
    mixdown/sample1.wav, and only then failed ('holds no samples')."""
    old = write(tmp_path / 'mixdown' / 'sample1.wav', harmonic_stack(1.0), subtype='PCM_16')
    before = open(old, 'rb').read()
    speech = np.concatenate([np.zeros(32000, np.float32), chirp(1.0)])
    write(tmp_path / 'eval' / 'a.speech.wav', speech if case == 'longer reference' else speech[:0])
    write(tmp_path / 'eval' / 'a.wav', noise_bursts(2.0) if case == 'longer reference' else
          speech[:0])
    argv = [str(tmp_path / 'eval' / 'a.wav'), '-m', model_path, '--seconds', '1']
    assert words in refusal(argv + outputs(tmp_path), capsys)
    assert open(old, 'rb').read() == before
    assert listing(tmp_path) == ['eval', 'mixdown'] and listing(tmp_path / 'mixdown') == [
        'sample1.wav']


def test_a_rerun_with_fewer_mixtures_removes_the_earlier_sets_higher_samples(
        tmp_path, model_path, capsys):
    """sample2.wav and sample3.wav had stayed in both folders, and `make`
    separated them with the new set; files not named as this script names
    its samples stay."""
    inputs = [mixture(tmp_path / 'eval', name) for name in 'abc']
    argv = ['-m', model_path, '--seconds', '0.5'] + outputs(tmp_path)
    assert make_samples.main(inputs + argv) == 0
    mine = ['sample02.wav', 'my_sample3.wav', 'sample3.flac', 'sample0.wav']
    for name in mine:
        write(tmp_path / 'mixdown' / name, harmonic_stack(0.1), subtype='PCM_16')
    capsys.readouterr()
    assert make_samples.main(inputs[1:2] + argv) == 0
    assert listing(tmp_path / 'mixdown') == sorted(mine + ['sample1.wav'])
    assert listing(tmp_path / 'separate') == ['sample1.wav']
    assert 'removed {}, {}, {}, {}'.format(
        *[tmp_path / folder / name for folder in ('mixdown', 'separate')
          for name in ('sample2.wav', 'sample3.wav')]) in capsys.readouterr().out


def test_a_stale_sample_given_as_an_input_is_refused(tmp_path, model_path, capsys):
    inputs = [mixture(tmp_path / 'mixdown', 'sample1'), mixture(tmp_path / 'mixdown', 'sample2')]
    err = refusal(inputs[1:] + ['-m', model_path] + outputs(tmp_path), capsys)
    assert '{}: an input, but also a sample of an earlier set'.format(inputs[1]) in err
    assert listing(tmp_path) == ['mixdown']


def test_a_failure_part_way_leaves_the_old_set_whole(tmp_path, model_path, capsys, monkeypatch):
    """A full disk at the second separation had left sample1 of the new set
    beside sample2 of the old."""
    inputs = [mixture(tmp_path / 'eval', name, seed=k) for k, name in enumerate('ab')]
    argv = ['-m', model_path, '--seconds', '0.5'] + outputs(tmp_path)
    assert make_samples.main(inputs + argv) == 0
    before = {(folder, name): open(str(tmp_path / folder / name), 'rb').read()
              for folder in ('mixdown', 'separate') for name in ('sample1.wav', 'sample2.wav')}
    calls = []
    separate_file = make_separate.separate_file

    def full_disk(path, out_path, *rest, **options):
        calls.append(path)
        if len(calls) == 2:
            raise util.OutputError('{}: cannot write (No space left on device)'.format(out_path))
        return separate_file(path, out_path, *rest, **options)

    monkeypatch.setattr(make_separate, 'separate_file', full_disk)
    assert 'No space left on device' in refusal(inputs[::-1] + argv, capsys)
    for (folder, name), content in before.items():
        assert open(str(tmp_path / folder / name), 'rb').read() == content
    for folder in ('mixdown', 'separate'):
        assert listing(tmp_path / folder) == ['sample1.wav', 'sample2.wav']


def contents(tmp_path, names, figure=None):
    """The bytes of each sample in both folders, and of ``figure``."""
    paths = [str(tmp_path / folder / name) for folder in ('mixdown', 'separate')
             for name in names] + ([figure] if figure else [])
    return {path: open(path, 'rb').read() for path in paths}


def test_a_failure_part_way_leaves_the_old_figure(tmp_path, model_path, capsys, monkeypatch):
    """--figure had been drawn into place after the first separation, so a
    full disk at the second left the old set with the new set's figure."""
    inputs = [mixture(tmp_path / 'eval', name, seed=k) for k, name in enumerate('ab')]
    figure = str(tmp_path / 'fig' / 'example.png')
    argv = ['-m', model_path, '--seconds', '0.5', '--figure', figure] + outputs(tmp_path)
    assert make_samples.main(inputs + argv) == 0
    before = contents(tmp_path, ['sample1.wav', 'sample2.wav'], figure)
    separate_file = make_separate.separate_file

    def full_disk(path, out_path, *rest, **options):
        if os.path.basename(out_path) == 'sample2.wav':
            raise util.OutputError('{}: cannot write (No space left on device)'.format(out_path))
        return separate_file(path, out_path, *rest, **options)

    monkeypatch.setattr(make_separate, 'separate_file', full_disk)
    assert 'No space left on device' in refusal(inputs[::-1] + argv, capsys)
    assert contents(tmp_path, ['sample1.wav', 'sample2.wav'], figure) == before
    assert listing(tmp_path / 'fig') == ['example.png']


@pytest.mark.parametrize('signum, status', [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=['SIGINT', 'SIGTERM'])
def test_a_stop_while_the_set_is_renamed_in_waits_for_the_whole_set(
        signum, status, tmp_path, model_path, capsys, monkeypatch):
    """Ctrl-C or SIGTERM between the renames had left the new
    mixdown/sample1.wav beside the old separate/sample1.wav (and the old
    figure, and the earlier set's sample3): now it ends the run once the
    whole new set is in place."""
    inputs = [mixture(tmp_path / 'eval', name, seed=k) for k, name in enumerate('abc')]
    figure = str(tmp_path / 'fig' / 'example.png')
    argv = ['-m', model_path, '--seconds', '0.5', '--figure', figure] + outputs(tmp_path)
    assert make_samples.main(inputs + argv) == 0
    names = ['sample1.wav', 'sample2.wav']
    before = contents(tmp_path, names, figure)
    finals = {str(tmp_path / folder / name) for folder in ('mixdown', 'separate')
              for name in names}
    renames = []
    replace = os.replace

    def stopped_part_way(source, target):
        if str(target) in finals:
            renames.append(target)
            if len(renames) == 2:           # mixdown/sample1.wav is in, separate's is not
                signal.raise_signal(signum)
        return replace(source, target)

    monkeypatch.setattr(os, 'replace', stopped_part_way)
    capsys.readouterr()
    assert make_samples.main(inputs[1::-1] + argv) == status
    assert len(renames) == 4
    after = contents(tmp_path, names, figure)
    assert all(after[path] != content for path, content in before.items())
    for folder in ('mixdown', 'separate'):
        assert listing(tmp_path / folder) == names
    assert listing(tmp_path / 'fig') == ['example.png']


def refusal(argv, capsys):
    return conftest.refusal(make_samples.main, 'make_samples.py', argv, capsys)

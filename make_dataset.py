"""Mix music and speech into training data for the U-Net.

Music file i is paired with speech file i; after each loop the speech list is
rotated by one, so ``-b 2`` gives two pairings per music file (the seed's
scheme). Each pair is mixed over the shorter length at 16 kHz mono and gives

* ``mixdown/<speech>_<music>.wav``: the mixture, peak-normalised;
* ``stft/<speech>_<music>.npz``: ``mix``, ``vocal`` (speech) and ``inst``
  (music) STFT magnitudes, float32 ``(513, frames)``, all three divided by
  the mixture's maximum (the format UNet-VocalSeparation-Chainer reads);
* with ``--psa``, also ``vocal_psa``: the speech's phase-sensitive
  magnitude ``|S| cos(angle S - angle X)`` kept within ``[0, |X|]``, the
  target that ``train.py --target vocal_psa`` fits;
* with ``--refs``, ``NAME.speech.wav`` and ``NAME.music.wav`` beside the
  mixture (scaled so that they sum to it) and ``manifest.csv``.

With ``--speed LOW HIGH`` each pair's speech is first played faster or
slower (tempo and pitch together, a factor drawn per pair), which makes new
voices out of the same speakers.

Each pair is mixed in memory, both files read whole: an hour-long pair needs
about 4.1 GB; cut recordings that long into pieces of a few minutes first.

With ``--alone speech`` (or ``music``) the other source is silenced: test
items of one source alone, cut to the pair's shorter length as mixtures are.

Usage: python3 make_dataset.py [-m MUSIC] [-s SPEECH] [-r RATIO | --snr DB [DB]]
                               [--every-file] [--speed LOW HIGH] [--psa] [--refs]
                               [--alone {speech,music}]
"""
import interrupts  # first: Ctrl-C while the rest loads is one line, not a traceback
if __name__ == '__main__':
    interrupts.quiet_while_loading()

import argparse
import collections
import contextlib
import csv
import os
import sys

import numpy as np
from tqdm import tqdm

import cli
import const
import decoding
import util

PROG = 'make_dataset.py'
# Names that -t/-o refuse as folders: they read as a file's name.
FILE_EXTENSIONS = const.READ_EXTENSIONS + ('.txt', '.csv', '.json', '.npz', '.npy')


ALONE = ('speech', 'music')   # --alone: the source kept


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='Prepare mixtures and STFT magnitudes for U-Net training',
        epilog='Memory: each pair is mixed in memory with both files read whole, so '
               'an hour-long pair needs about 4.1 GB; cut recordings that long into '
               'pieces of a few minutes first.')
    parser.add_argument('--music', '-m', default=const.PATH_MUSIC,
                        help='folder of music files (default: %(default)s)')
    parser.add_argument('--speech', '-s', default=const.PATH_SPEECH,
                        help='folder of speech files (default: %(default)s)')
    parser.add_argument('--stft', '-t', default=const.PATH_FFT,
                        help='output folder for the npz magnitudes (default: %(default)s)')
    parser.add_argument('--mixdown', '-o', default=const.PATH_MIXDOWN,
                        help='output folder for the mixtures (default: %(default)s)')
    parser.add_argument('--mixratio', '-r', type=float,
                        help='speech-to-music amplitude ratio (default: {})'.format(
                            const.MIX_RATIO))
    parser.add_argument('--snr', type=float, nargs='+', metavar='DB',
                        help='speech-to-music ratio in dB instead of -r: one value, '
                             'or LOW HIGH to draw one per pair uniformly')
    parser.add_argument('--loop', '-b', type=int, default=const.LOOP_COUNT,
                        help='pairings per music file (default: %(default)s)')
    parser.add_argument('--speed', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                        help='speed perturbation: play each pair\'s speech LOW to HIGH '
                             'times as fast (tempo and pitch, drawn per pair; '
                             'e.g. 0.85 1.15), to vary the voices (default: off)')
    parser.add_argument('--every-file', action='store_true',
                        help='pair until every music and every speech file is used, '
                             'cycling the shorter list (default: as many pairs per '
                             'loop as the shorter list has files, as the seed)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed for --snr and --speed ranges, 0 or more '
                             '(default: %(default)s)')
    parser.add_argument('--refs', action='store_true',
                        help='also write NAME.speech.wav, NAME.music.wav and '
                             'manifest.csv beside the mixtures (for evaluate.py)')
    parser.add_argument('--alone', choices=ALONE, default=None,
                        help='write one source alone instead of a mixture: "speech" '
                             '(the music silenced) or "music" (the speech silenced), '
                             'each cut to its pair\'s shorter length as a mixture is: '
                             'test items of what the model must leave untouched or '
                             'remove (evaluate.py scores them; -r and --snr do not '
                             'apply; default: mix both)')
    parser.add_argument('--psa', action='store_true',
                        help='also store "vocal_psa", the phase-sensitive speech '
                             'target (train.py --target vocal_psa)')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(), make_dataset, argv)


def make_dataset(args):
    check_alone(args)
    check_numbers(args)
    snr_range = parse_snr(args.snr)
    speed_range = parse_speed(args.speed)
    check_folders(args)
    found = input_files(args.music, args.speech)
    with decoding.DecodedOnce() as decoded:     # m4a, mkv...: each decoded once
        return mix_all(args, snr_range, speed_range, decoded, found)


def mix_all(args, snr_range, speed_range, decoded, found):
    """Mix every pair, write the files and the summary; ``decoded``: a
    ``decoding.DecodedOnce`` the audio is loaded through; ``found``: the
    ``(music, speech)`` files of ``input_files``."""
    unreadable = []         # input files warned about and left out
    music = readable_files(found[0], args.music, 'music', decoded, unreadable)
    speech = readable_files(found[1], args.speech, 'speech', decoded, unreadable)
    dropped = []            # pairs of a name already taken: skipped before mixing
    pairs = pair_files(music, speech, args.loop, args.every_file, dropped)
    pairs = pairs_named_within_limit(pairs, args.refs, dropped)
    names = {name for _, _, name in pairs}
    if args.refs:
        check_reference_names(sorted(names))
    cli.print_settings([
        ('music', '{} ({} files)'.format(args.music, len(music))),
        ('speech', '{} ({} files)'.format(args.speech, len(speech))),
        ('level', 'none ({} alone)'.format(args.alone) if args.alone
         else 'SNR {} dB'.format(' to '.join(map(str, snr_range)))
         if snr_range else 'ratio {}'.format(args.mixratio)),
        ('speech speed', '{} to {}'.format(*speed_range) if speed_range else 'unchanged'),
        ('sources', '{} alone'.format(args.alone) if args.alone else 'speech + music'),
        ('loops', min(args.loop, len(speech))),
        ('pairs', len(pairs)),
        ('stft', args.stft), ('mixdown', args.mixdown)])
    for folder in (args.stft, args.mixdown):
        with util.writing(folder):
            os.makedirs(folder, exist_ok=True)
    if names:       # what killed runs (SIGKILL, out of memory) left there: staged files
        cli.remove_stale_temporaries(pair_files_of(min(names), args))   # one pair's folders

    rng = np.random.default_rng(args.seed)
    speed_rng = np.random.default_rng([args.seed, 1])   # SNR draws stay as without --speed
    rows, skipped, seconds, reached = [], [], 0.0, set()
    manifest = os.path.join(args.mixdown, const.MANIFEST)
    try:
        for music_path, speech_path, name in tqdm(pairs, desc='mixing', unit='pair',
                                                  disable=None):   # off unless a TTY
            snr_db = rng.uniform(*snr_range) if snr_range else None
            speed = speed_rng.uniform(*speed_range) if speed_range else 1.0
            reached.add(name)
            try:
                row = mix_pair(music_path, speech_path, name, args, snr_db, speed,
                               decoded.load_audio, names, rows)
            except util.OutputError:
                raise                   # the output folder, not this pair: stop
            except util.AudioError as err:
                # an earlier run's files of the pair no longer match its inputs
                stale = removed_files(pair_files_of(name, args, names))
                tqdm.write(skip_warning(name, err, stale), file=sys.stderr)
                skipped.append(name)
                continue
            seconds += row['seconds']
    except BaseException:
        # stopped (Ctrl-C, SIGTERM, a full disk): the manifest still lists the
        # pairs finished, beside those of the earlier run not reached
        with contextlib.suppress(Exception):
            update_manifest(manifest, rows, args.refs, reached)
        raise
    update_manifest(manifest, rows, args.refs, names)
    skipped_pairs = len(skipped) + len(dropped)
    print('wrote {} mixture{} ({:.1f} min) to {} and {}; skipped {} pair{}{}'.format(
        len(rows), cli.plural(len(rows)), seconds / 60, args.mixdown, args.stft,
        skipped_pairs, cli.plural(skipped_pairs),
        '; left out {} unreadable input file{}'.format(
            len(unreadable), cli.plural(len(unreadable))) if unreadable else ''))
    if not rows:
        raise cli.UserError('no mixture was written{}'.format(
            '; see the warnings above' if skipped or dropped else ''))
    return 0


def skip_warning(name, reason, stale):
    """The line for pair ``name`` skipped for ``reason``, naming ``stale``,
    its files of an earlier run that were removed."""
    line = 'warning: skipped {}: {}'.format(name, reason)
    if stale:
        line += '; removed {} of an earlier run, which no longer match{} its inputs'.format(
            ', '.join(os.path.basename(path) for path in stale),
            'es' if len(stale) == 1 else '')
    return line


def check_alone(args):
    """One line for a setting that ``--alone`` leaves without effect, before
    any work: ``-r`` and ``--snr`` (one source alone has no speech-to-music
    level to set). ``--speed`` stays: with ``--alone music`` it sets the
    items' length as it sets the mixtures' of the same pairing."""
    if args.alone and (args.mixratio is not None or args.snr):
        given = ('-r {:g}'.format(args.mixratio) if args.mixratio is not None
                 else '--snr ' + ' '.join('{:g}'.format(v) for v in args.snr))
        raise cli.UserError('--alone {} with {}: a source written alone has no speech-to-music '
                            'level to set; leave {} out'.format(args.alone, given,
                                                                given.split()[0]))


def check_numbers(args):
    """One line for a setting that is not a usable number, before any work:
    a NaN or infinite ratio would mix NaN."""
    if args.mixratio is not None and args.snr:
        raise cli.UserError('-r {:g} and --snr {}: give one of them (--snr replaces the '
                            'ratio)'.format(args.mixratio, ' '.join(map(str, args.snr))))
    if args.mixratio is None:
        args.mixratio = const.MIX_RATIO
    if not (np.isfinite(args.mixratio) and args.mixratio >= 0):
        raise cli.UserError('-r {}: the ratio must be a finite number, 0 or more'.format(
            args.mixratio))
    for value in args.snr or ():
        if not np.isfinite(value):
            raise cli.UserError('--snr {}: must be a finite number of dB'.format(
                ' '.join(map(str, args.snr))))
    if args.seed < 0:
        raise cli.UserError('--seed {}: must be 0 or more'.format(args.seed))
    if args.loop < 1:
        raise cli.UserError('-b {}: must be at least 1 pairing per music file'.format(
            args.loop))


def parse_snr(values):
    """``None`` for ``-r`` mode, else a ``(low, high)`` range in dB."""
    if values is None:
        return None
    if len(values) > 2:
        raise cli.UserError('--snr takes one value or LOW HIGH, got {}'.format(len(values)))
    low, high = values[0], values[-1]
    if low > high:
        raise cli.UserError('--snr {} {}: LOW is above HIGH'.format(low, high))
    return (low, high)


def parse_speed(values):
    """``None`` for no perturbation, else a ``(low, high)`` range of speed factors."""
    if values is None:
        return None
    cli.check_interval('--speed', values, *const.SPEED_LIMITS)
    return tuple(values)


def check_folders(args):
    """Inputs must exist; outputs must not be an input folder, a file or a
    name with a file's extension (``-o mix.wav`` would become a folder)."""
    for kind, folder in (('music', args.music), ('speech', args.speech)):
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise cli.UserError('{} folder {} is a file; give the folder that holds the {} '
                                '(-{} DIR)'.format(kind, folder, kind, kind[0]))
        if not os.path.isdir(folder):
            raise cli.UserError('{} folder {} does not exist (-{} DIR)'.format(
                kind, folder, kind[0]))
    inputs = {os.path.realpath(args.music), os.path.realpath(args.speech)}
    for option, folder in (('-t', args.stft), ('-o', args.mixdown)):
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise cli.UserError('{} {}: is a file; the output must be a folder'.format(
                option, folder))
        if os.path.splitext(folder.rstrip(os.sep))[1].lower() in FILE_EXTENSIONS:
            raise cli.UserError('{} {}: names a file, but the output is a folder; '
                                'give a folder name'.format(option, folder))
        real = os.path.realpath(folder)
        if any(real == inp or real.startswith(inp + os.sep) for inp in inputs):
            raise cli.UserError('{} {}: the output folder is (inside) an input folder; '
                                'choose another'.format(option, folder))


def input_files(music_folder, speech_folder):
    """``(music, speech)``: the audio files below the two folders. One line,
    as ``train.py --mix`` says it, for a file in both (``-m music_speech``
    holds ``speech_wav``; ``-m X -s X``), which would mix speech with speech
    or a file with itself."""
    music, speech = (util.find_audio(folder, const.READ_EXTENSIONS)
                     for folder in (music_folder, speech_folder))
    cli.check_apart(speech, music, speech_folder, music_folder)
    return music, speech


def readable_files(found, folder, kind, decoded, unreadable):
    """The files of ``found`` (listed below ``folder``) whose header reads
    (``decoded``: a ``decoding.DecodedOnce``, which decodes ffmpeg's formats
    to count their samples and keeps them); others are warned about and
    added to the list ``unreadable``."""
    good = []
    for path in found:
        try:
            if decoded.frames(path) == 0:
                raise util.AudioError('{}: no samples'.format(path))
        except util.AudioError as err:
            print('warning: skipped {}'.format(err), file=sys.stderr)
            unreadable.append(path)
            continue
        good.append(path)
    if not good:
        raise cli.UserError('no readable {} files in {} (looked for {})'.format(
            kind, folder, ', '.join(const.READ_EXTENSIONS)))
    return good


def pair_files(music, speech, loops, every_file=False, dropped=None):
    """``[(music, speech, name)]`` by the seed's scheme, names made unique.

    Loop ``k`` pairs music i with speech ``(i - k) mod len(speech)``; at most
    ``len(speech)`` loops. Each loop has as many pairs as the shorter list, or
    with ``every_file`` as the longer one, the shorter list cycled. Files of
    the same stem are told apart by their folder and extension
    (``stem_names``); a pair name still repeated (speech ``a`` with music
    ``b_c``, speech ``a_b`` with music ``c``) is dropped with a warning, and
    appended to the list ``dropped`` when given.
    """
    music_names = stem_names(music)
    speech_names = stem_names(speech)
    order = list(range(len(speech)))
    pairs, seen = [], {}
    per_loop = max(len(music), len(speech)) if every_file else min(len(music), len(speech))
    for _ in range(min(loops, len(speech))):
        for k in range(per_loop):
            i, j = k % len(music), order[k % len(speech)]
            name = '{}_{}'.format(speech_names[j], music_names[i])
            if name in seen:
                if seen[name] != (music[i], speech[j]):      # not the same pair again
                    print('warning: skipped a second pair named {} ({} + {})'.format(
                        name, speech[j], music[i]), file=sys.stderr)
                    if dropped is not None:
                        dropped.append(name)
                continue
            seen[name] = (music[i], speech[j])
            pairs.append((music[i], speech[j], name))
        order = [order[-1]] + order[:-1]
    return pairs


def pairs_named_within_limit(pairs, refs, dropped):
    """The pairs of ``pairs`` whose files' names fit in ``const.NAME_MAX``
    bytes (``NAME.npz``, ``NAME.wav`` and with ``refs`` ``NAME.speech.wav``:
    two stems of 125 characters do not); each other is warned about, in
    one line before anything is written, and its name appended to the list
    ``dropped``."""
    endings = ['.npz', '.wav'] + ([tag + '.wav' for tag in const.REFERENCE_TAGS] if refs else [])
    ending = max(endings, key=lambda end: len(end.encode()))
    kept = []
    for pair in pairs:
        longest = len(os.fsencode(pair[2] + ending))
        if longest > const.NAME_MAX:
            print('warning: skipped {}: its file {}{} would have a name of {} bytes, more than '
                  'the {} a file system holds; shorten the speech or music file name'.format(
                      pair[2], pair[2], ending, longest, const.NAME_MAX), file=sys.stderr)
            dropped.append(pair[2])
            continue
        kept.append(pair)
    return kept


def check_reference_names(names):
    """One line, before anything is written, where a pair's reference would
    carry another pair's mixture name (music ``x.wav`` and ``x.music.wav``
    mixed with speech ``s``: ``s_x.music.wav`` twice)."""
    mixtures = set(names)
    for name in names:
        for tag in const.REFERENCE_TAGS:
            if name + tag in mixtures:
                raise cli.UserError('{0}{1}.wav would be both the {2} reference of pair {0} '
                                    'and the mixture of pair {0}{1}; rename the input whose '
                                    'name ends in {1} (an earlier --refs output fed back '
                                    'in?)'.format(name, tag, tag.lstrip('.')))


def stem_names(paths):
    """File stems; where two are equal, the parent folder is prefixed
    (``a/x.wav``, ``b/x.wav``: ``a-x``, ``b-x``), and where that still
    repeats among files of different extensions, each of that name gets
    its extension (``x/talk.wav``, ``x/talk.flac``: ``x-talk-wav``,
    ``x-talk-flac``). A name that no other repeats stays as it was, and so
    does a group the extensions cannot tell apart (``p/q/t.wav``,
    ``r/q/t.wav``: ``q-t`` twice, one of the pairs then dropped with a
    warning, as before)."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    counts = collections.Counter(stems)
    names = ['{}-{}'.format(folder_name(p), s) if counts[s] > 1 else s
             for p, s in zip(paths, stems)]
    groups = collections.defaultdict(list)
    for k, name in enumerate(names):
        groups[name].append(k)
    for members in groups.values():
        extensions = [os.path.splitext(paths[k])[1][1:] for k in members]
        if len(members) > 1 and len(set(extensions)) == len(members):
            for k, extension in zip(members, extensions):
                names[k] = '{}-{}'.format(names[k], extension)
    return names


def folder_name(path):
    """The name of the folder holding ``path``, as given, or where that is
    none, ``.`` or ``..`` (``-s .``), the real folder's: a name never starts
    with ``-`` or ``.``, which would hide its files."""
    given = os.path.basename(os.path.dirname(path))
    if given in ('', '.', '..'):
        return os.path.basename(os.path.realpath(os.path.dirname(path) or '.'))
    return given


def mix_pair(music_path, speech_path, name, args, snr_db, speed, load, mixtures=(),
             rows=None):
    """Mix one pair and write its files; return its manifest row, also
    appended to ``rows`` (if given) as the files go in, so that a stop
    leaves no pair whose files are there without its row.

    ``snr_db`` None mixes at ``args.mixratio``; ``speed`` is the speech's
    speed factor (1.0 unchanged); ``load(path)`` reads a file as 16 kHz
    mono (``decoding.DecodedOnce.load_audio``). The files are written
    together (``write_pair``); without ``args.refs`` an earlier run's
    references of ``name`` are removed, unless their names are among
    ``mixtures``, this run's pairs (``pair_files_of``).
    """
    music = load(music_path)
    speech = util.change_speed(load(speech_path), speed)
    length = min(len(music), len(speech))
    if length < const.MIN_PAIR_SAMPLES:
        raise util.AudioError('{} + {}: the pair is {} sample{} long ({:.0f} ms at {} Hz), '
                              'shorter than one STFT frame ({} samples)'.format(
                                  speech_path, music_path, length, cli.plural(length),
                                  1000.0 * length / const.SR, const.SR,
                                  const.MIN_PAIR_SAMPLES))
    music, speech = music[:length], speech[:length]
    gain = args.mixratio if snr_db is None else speech_gain(speech, music, snr_db)
    speech = speech * gain
    if args.alone == 'speech':
        music = np.zeros_like(music)
    elif args.alone == 'music':
        speech = np.zeros_like(speech)
    else:
        for source, signal, alone, other in (('speech', speech, 'music', music),
                                             ('music', music, 'speech', speech)):
            if not np.any(signal) and np.any(other):    # both silent: skipped below
                tqdm.write('warning: {}: the {} is silent, so the mixture is {} alone'.format(
                    name, source, alone), file=sys.stderr)
    mixture = speech + music
    if not np.all(np.isfinite(mixture)):
        raise util.AudioError('{} + {}: the mixture is not finite'.format(
            speech_path, music_path))
    peak = float(np.max(np.abs(mixture))) if length else 0.0
    if peak == 0.0:
        raise util.AudioError('{} + {}: the mixture is silent'.format(speech_path, music_path))
    scale = const.PEAK_LIMIT / peak
    mixture, speech, music = mixture * scale, speech * scale, music * scale

    spec_mix, spec_speech, spec_music = (util.stft(x) for x in (mixture, speech, music))
    norm = np.abs(spec_mix).max()
    targets = {'mix': np.abs(spec_mix), 'vocal': np.abs(spec_speech),
               'inst': np.abs(spec_music)}
    if args.psa:
        targets['vocal_psa'] = util.phase_sensitive_magnitude(spec_speech, spec_mix)
    if not all(np.all(np.isfinite(x)) for x in [norm, mixture, speech, music]
               + list(targets.values())) or norm == 0:
        raise util.AudioError('{} + {}: the mixture is not finite'.format(
            speech_path, music_path))
    arrays = {key: (value / norm).astype(np.float32) for key, value in targets.items()}
    base = os.path.join(args.mixdown, name)
    writers = {base + '.wav': lambda path: util.write_audio(path, mixture),
               os.path.join(args.stft, name + '.npz'): lambda path: util.save_npz(path, **arrays)}
    if args.refs:
        writers[base + '.speech.wav'] = lambda path: util.write_audio(path, speech)
        writers[base + '.music.wav'] = lambda path: util.write_audio(path, music)
    row = {'name': name, 'speech_file': speech_path, 'music_file': music_path,
           'snr_db': round(measured_snr(speech, music), 2) + 0.0,   # -0.0 written as 0.0
           'speed': round(speed, 4),
           'seconds': length / const.SR}
    # without --refs an earlier run's references go: they no longer match the mixture
    write_pair(pair_files_of(name, args, mixtures), writers,
               then=None if rows is None else lambda: rows.append(row))
    return row


def pair_files_of(name, args, mixtures=()):
    """The files of pair ``name`` that any run writes, its mixture first:
    ``NAME.wav`` in ``args.mixdown``, ``NAME.npz`` in ``args.stft`` and the
    references ``NAME.speech.wav``, ``NAME.music.wav``, less those named as
    one of ``mixtures``, this run's pairs (music ``x.music.wav``: pair
    ``s_x.music`` is no reference of ``s_x``)."""
    base = os.path.join(args.mixdown, name)
    return [base + '.wav', os.path.join(args.stft, name + '.npz')] + [
        base + tag + '.wav' for tag in const.REFERENCE_TAGS if name + tag not in mixtures]


def write_pair(paths, writers, then=None):
    """Write one pair's files so that they belong together: ``writers`` maps
    each new file to a ``write(path)`` that writes it; ``paths`` lists the
    pair's files of any run, its mixture first (``pair_files_of``);
    ``then()``, if given, records the pair once its files are in.

    Each new file is written to a temporary beside its place
    (``staged_path``); then the files of ``paths`` there are removed, the
    mixture first, and the new ones renamed into place, the mixture last.
    Stopped at any point (Ctrl-C, SIGTERM, a full disk), the pair's files
    left are all of one run, old or new, and a mixture stands only beside
    the references and npz of its own run (evaluate.py pairs them by
    name); the temporaries go (those of a killed run go with the next run,
    ``util.remove_stale_temporaries``). A Ctrl-C or SIGTERM from the removal
    on waits until the files are in and ``then()`` has recorded them
    (``interrupts.held_stops``).
    """
    with contextlib.ExitStack() as stack:
        staged = {}
        for path, write in writers.items():
            staged[path] = stack.enter_context(util.standing_in(staged_path(path), path))
            write(staged[path])
        with interrupts.held_stops():
            removed_files(paths)
            for path in sorted(staged, key=paths.index, reverse=True):
                with util.writing(path):
                    os.replace(staged[path], path)
            if then is not None:
                then()


def removed_files(paths):
    """Remove those of ``paths`` that exist, in their order; return them."""
    removed = [path for path in paths if os.path.lexists(path)]
    for path in removed:
        with util.writing(path):
            os.remove(path)
    return removed


def staged_path(path):
    """A hidden temporary beside ``path`` that ends as ``path`` does
    (``.NAME.wav.PID.partial.wav``), so that ``util.write_audio`` writes
    it in ``path``'s format; within ``const.NAME_MAX`` bytes, as
    ``util.temporary_path`` leaves room for a suffix."""
    return util.temporary_path(path) + os.path.splitext(path)[1]


def speech_gain(speech, music, snr_db):
    """Amplitude factor that puts speech ``snr_db`` dB above the music's power."""
    p_speech, p_music = np.mean(speech ** 2), np.mean(music ** 2)
    if p_speech == 0.0 or p_music == 0.0:
        return 1.0
    return float(np.sqrt(p_music / p_speech * 10.0 ** (snr_db / 10.0)))


def measured_snr(speech, music):
    """Speech-to-music power ratio in dB (inf when the music is silent)."""
    p_speech, p_music = np.mean(speech ** 2), np.mean(music ** 2)
    if p_music == 0.0:
        return float('inf')
    if p_speech == 0.0:
        return float('-inf')
    return float(10.0 * np.log10(p_speech / p_music))


def update_manifest(path, rows, refs, names):
    """``manifest.csv`` after a run that mixed the pairs ``names`` (``rows``:
    those it wrote, with ``refs`` their references too): this run's rows,
    then the earlier rows of mixtures it left alone that are still there;
    none of ``names`` keeps an earlier row (its mixture was rewritten, so
    that row no longer describes it). Without rows left, no manifest."""
    folder, earlier = os.path.dirname(path), []
    if os.path.isfile(path):
        try:
            with util.open_csv(path) as handle:
                earlier = [row for row in csv.DictReader(handle)
                           if row.get('name') and row['name'] not in names
                           and os.path.exists(os.path.join(folder, row['name'] + '.wav'))]
        except (OSError, UnicodeDecodeError, csv.Error):
            earlier = []          # unreadable: this run's rows replace it
    for row in earlier:
        try:
            row['seconds'] = float(row.get('seconds'))
        except (TypeError, ValueError):
            row['seconds'] = float('nan')
    kept = (rows if refs else []) + earlier
    if kept:
        write_manifest(path, kept)
    elif os.path.isfile(path):
        with util.writing(path):
            os.remove(path)


def write_manifest(path, rows):
    """``manifest.csv``: name, speech_file, music_file, snr_db, speed, seconds."""
    with util.replacing(path) as tmp:
        with util.open_csv(tmp, 'w') as handle:
            writer = csv.DictWriter(handle, ['name', 'speech_file', 'music_file',
                                             'snr_db', 'speed', 'seconds'],
                                    extrasaction='ignore')
            writer.writeheader()
            for row in rows:
                writer.writerow(dict(row, seconds=round(row['seconds'], 3)))

if __name__ == '__main__':
    sys.exit(main())

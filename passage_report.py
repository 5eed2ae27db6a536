"""make_separate.py --passage-report: one CSV row per passage of every
input, with the speech and music estimates' levels there and how the
passage was written.

``--report`` says which recordings had music under them; this says where.
A researcher cleaning a corpus keeps the stretches whose
``speech_to_music_db`` is high (speech with little or no music under it),
a subtitler finds where the music comes in. The passages are those
``--keep-clean`` and ``--gate-music`` judge (``--passage`` seconds from the
start of each file, a short tail joined to the passage before it), so
``written`` says what each judged passage became.
"""
import os

import cli
import passage_gate
import separation_report
import util

COLUMNS = ('input', 'start_s', 'end_s', 'speech_db', 'music_db', 'speech_to_music_db',
           'written')
OPTION = '--passage-report'


def spans(gate, rate):
    """``[(start, end, speech, music, mixture, kind)]`` of the passages a
    spent ``passage_gate.PassageGate`` cut from a stream at ``rate`` Hz:
    their bounds in seconds, their estimates' energies and their kind."""
    return [(start / rate, (start + length) / rate) + energies + (kind,)
            for (start, length, kind), energies in zip(gate.decisions, gate.energies)]


def rows(source, passages):
    """The report rows (dicts of ``COLUMNS``) of input ``source`` for its
    ``spans``: levels in dB relative to the passage's mixture and to each
    other (``separation_report.ratio_db``; NaN for two silences)."""
    return [{'input': source, 'start_s': start, 'end_s': end,
             'speech_db': separation_report.ratio_db(speech, mixture),
             'music_db': separation_report.ratio_db(music, mixture),
             'speech_to_music_db': separation_report.ratio_db(speech, music),
             'written': WRITTEN[kind]}
            for start, end, speech, music, mixture, kind in passages]


# how each kind of passage was written, in the report's words
WRITTEN = {passage_gate.SEPARATED: 'separated', passage_gate.CLEAN: 'as it came in',
           passage_gate.MUSIC: 'as silence'}


def check(path, overwrite, audio=(), report=None):
    """Refuse ``--passage-report`` ``path`` before any work, as
    ``separation_report.check`` does, and where it is the ``--report``
    file too."""
    if report and path != '-' and os.path.realpath(path) == os.path.realpath(report):
        raise cli.UserError('{} {}: is the --report file too; give each its own '
                            'file'.format(OPTION, path))
    separation_report.check(path, overwrite, audio, option=OPTION)


def previous(path, seconds):
    """``{input: [row, ...]}`` of an earlier passage report at ``path``
    (``{}`` if there is none), for the inputs --skip-existing leaves out;
    ``cli.UserError`` if the file is not such a report, or if its passages
    are not ``seconds`` long (``--passage`` changed between the runs: the
    kept rows would lie on another grid than the new ones)."""
    earlier = {}
    for entry in separation_report.read_table(path, COLUMNS, OPTION,
                                              'a make_separate.py passage report'):
        earlier.setdefault(entry['input'], []).append(entry)
    for source, entries in sorted(earlier.items()):
        length = passage_length(entries)
        if length is not None and abs(length - seconds) > GRID_TOLERANCE_S:
            raise cli.UserError(
                '{} {}: its passages of {} are {:g} s long and this run\'s --passage is '
                '{:g} s; give --passage {:g} as before, or a new report file'.format(
                    OPTION, path, source, length, seconds, length))
    return earlier


# the report's bounds are written to 0.01 s, so a passage's length read
# back is off by up to that
GRID_TOLERANCE_S = 0.015


def passage_length(entries):
    """Seconds of the first passage of one input's report rows, or None
    where it is the only one (the whole file, however long the passages
    were) or its bounds are not numbers."""
    if len(entries) < 2:
        return None
    try:
        return float(entries[0]['end_s']) - float(entries[0]['start_s'])
    except ValueError:
        return None


def write(path, file_rows):
    """The passages of the ``--report`` rows ``file_rows`` (their
    ``'passages'``; none for a failed file), in the order of their inputs,
    written atomically."""
    ordered = sorted(file_rows, key=lambda r: r['input'])
    util.write_table(path, COLUMNS, [p for r in ordered for p in r.get('passages', ())],
                     digits=2, nan='')

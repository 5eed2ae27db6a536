"""Inputs libsndfile cannot read, decoded by ffmpeg: the audio of m4a, mp4,
mkv, webm, mov, aac, wma... files (``const.DECODED_EXTENSIONS``), for
make_separate.py, and for make_dataset.py, train.py --mix and evaluate.py
through ``load_audio`` and ``audio_info``.

The first audio stream is decoded once, at its own rate and channels, into
a 32-bit float wav (RF64 past 4 GiB) under a hidden temporary name
(``util.temporary_path``): beside the output for make_separate.py, whose
passes then read it as any wav (exact lengths, flat memory), and where the
next make_separate.py run writing there removes it if this one was killed;
in ``$TMPDIR`` for ``load_audio``. It is removed as soon as the file is
done. Its size is 4 bytes per sample and channel: 1.4 GB for an hour of
48 kHz stereo.

``DecodedOnce`` serves a run that loads the same files again and again
(make_dataset.py pairs every file with several others): each is decoded
once and kept, at 16 kHz mono, until the run ends.

The ffmpeg is the one ``imageio-ffmpeg`` ships (``requirements.txt``), or
``$IMAGEIO_FFMPEG_EXE``, or an ``ffmpeg`` on PATH.
"""
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

import soundfile as sf

import const
import util

INSTALL_HINT = 'pip install imageio-ffmpeg, or put ffmpeg on PATH'


def needs_decoding(path, sniff=False):
    """Whether ffmpeg decodes ``path``: a file of ``const.DECODED_EXTENSIONS``
    (or, with ``sniff``, any file: what came in on stdin has no name) that
    libsndfile cannot read itself (an Ogg Opus ``.opus`` it can); and, where
    there is an ffmpeg to try, a file of libsndfile's own types that it
    cannot read (an m4a renamed .wav), a wav it reads as empty whose
    samples follow a data chunk of length 0 (its recorder stopped before
    writing the length: ``util.unwritten_wav_length``), a wav past 4 GiB
    from a pipe, of which it reads 4 GiB (``util.overflowed_wav_length``),
    or a FLAC of no stated length (written to a pipe), whose end libsndfile
    takes for damage. If ffmpeg fails on these, ``readable`` falls back on
    libsndfile's reading."""
    decoded_type = ffmpeg_type(path, sniff)
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        return False            # missing, a folder, a FIFO, unreadable: util.audio_info says so
    try:
        with util.quiet_decoder():
            info = sf.info(util.sf_path(path))
    except (RuntimeError, sf.LibsndfileError):
        return decoded_type or ffmpeg_executable() is not None
    unread = (info.frames == 0 and util.unwritten_wav_length(path)) or \
        (info.format == 'FLAC' and info.frames >= const.UNKNOWN_FRAMES) or \
        util.overflowed_wav_length(path)
    return unread and ffmpeg_executable() is not None


def ffmpeg_type(path, sniff=False):
    """Whether ``path`` is of a type only ffmpeg reads (``const.DECODED_EXTENSIONS``),
    or with ``sniff`` of no type its name tells (stdin)."""
    return sniff or os.path.splitext(path)[1].lower() in const.DECODED_EXTENSIONS


def ffmpeg_executable():
    """Path of the ffmpeg to decode with, or None if there is none."""
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which('ffmpeg')


def load_audio(path, sr=const.SR):
    """``util.load_audio`` of any file the scripts read: ``(samples,)``
    float32 at ``sr`` Hz, a file of ffmpeg's formats decoded first into the
    system's temporary folder."""
    with readable(path, tempfile.gettempdir()) as source:
        return util.load_audio(source, sr)


def audio_info(path):
    """``util.audio_info`` of any file the scripts read (ffmpeg's formats
    decoded first, as ``load_audio``)."""
    with readable(path, tempfile.gettempdir()) as source:
        return util.audio_info(source)


class DecodedOnce:
    """``load_audio`` and ``frames`` for a run that asks for the same files
    more than once: a file of ffmpeg's formats is decoded the first time
    only, and kept as 16 kHz mono 32-bit float (64 kB a second) in a
    temporary folder in ``folder`` (default ``$TMPDIR``) that goes when the
    ``with`` block ends. Where the disk would be left with less than
    ``const.DECODED_KEEP_FREE_BYTES``, a file is not kept but decoded again
    each time, as without this class. Files libsndfile reads are read as
    they are."""

    def __init__(self, folder=None):
        self._parent = folder
        self.folder = None
        self.kept = {}          # input path -> its kept 16 kHz wav
        self.decoded = 0        # ffmpeg runs so far
        self._decodes = {}      # input path -> needs_decoding's answer, asked once

    def __enter__(self):
        self.folder = tempfile.mkdtemp(prefix='decoded-', dir=self._parent)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.folder, ignore_errors=True)
        self.kept = {}

    def _needs_decoding(self, path):
        """``needs_decoding(path)``, whose header read is made once a file:
        a run loads each file again for every pair it is in."""
        key = os.path.abspath(path)
        if key not in self._decodes:
            self._decodes[key] = needs_decoding(path)
        return self._decodes[key]

    def load_audio(self, path):
        """``(samples,)`` float32 at 16 kHz, as ``load_audio``."""
        if not self._needs_decoding(path):
            return util.load_audio(path, const.SR)
        key = os.path.abspath(path)
        if key in self.kept:
            return util.load_audio(self.kept[key], const.SR)
        signal = load_audio(path, const.SR)
        self.decoded += 1
        target = os.path.join(self.folder, '{}.wav'.format(len(self.kept)))
        if shutil.disk_usage(self.folder).free > \
                const.DECODED_KEEP_FREE_BYTES + 4 * len(signal):
            try:
                util.write_audio(target, signal, const.SR, 'FLOAT')
            except util.AudioError:
                return signal       # the disk filled meanwhile: decoded again next time
            self.kept[key] = target
        return signal

    def frames(self, path):
        """Samples in ``path``: its header's count, or for a file ffmpeg
        decodes the 16 kHz count (decoded and kept for ``load_audio``)."""
        if not self._needs_decoding(path):
            return util.audio_info(path).frames
        return len(self.load_audio(path))


@contextlib.contextmanager
def readable(path, folder, sniff=False):
    """Yield a path libsndfile reads holding ``path``'s audio: ``path``
    itself, or the audio ffmpeg decoded from it into a temporary wav in
    ``folder``, removed on leaving (``sniff``: as ``needs_decoding``).

    ``util.AudioError`` raised inside names ``path``, not the temporary file.
    """
    if not needs_decoding(path, sniff):
        yield path
        return
    decoded = util.temporary_path(os.path.join(folder, os.path.basename(path) + '.decoded.wav'))
    own_type = not ffmpeg_type(path, sniff)
    with util.standing_in(decoded, path):
        try:
            decode(path, decoded)
            source = decoded
        except util.OutputError:
            raise
        except util.AudioError:
            if not own_type:
                raise
            util.audio_info(path)   # libsndfile's own reason ("not a readable audio file")
            source = path           # or what it reads (an empty wav: "holds no samples")
        yield source


def decode(path, wav_path):
    """Decode the first audio stream of ``path`` into ``wav_path``
    (float32 wav at the stream's rate and channels).

    Raises ``util.AudioError`` naming ``path`` when there is no ffmpeg, no
    audio stream or nothing decodable, and ``util.OutputError`` when the
    decoded audio cannot be written: a disk that fills, or before ffmpeg
    starts, one with less space free than ``decoded_size`` says the audio
    takes. A stream damaged part-way
    (a download cut short) gives what ffmpeg could decode of it, with a
    warning on stderr, as libsndfile gives the samples of a cut wav.
    """
    ffmpeg = ffmpeg_executable()
    extension = os.path.splitext(path)[1].lower()
    if ffmpeg is None:
        raise util.AudioError('{}: libsndfile cannot read {} and no ffmpeg was found to '
                              'decode it ({})'.format(path, '{} files'.format(extension)
                                                      if extension else 'it', INSTALL_HINT))
    check_room(ffmpeg, path, wav_path)
    command = [ffmpeg, '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
               '-i', 'file:' + os.path.abspath(path),        # file: a name with ':' or '-'
               '-map', '0:a:0', '-c:a', 'pcm_f32le', '-rf64', 'auto', '-f', 'wav',
               'file:' + os.path.abspath(wav_path)]
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
    except OSError as err:
        raise util.AudioError('{}: cannot run ffmpeg {} ({}; {})'.format(
            path, ffmpeg, err.strerror, INSTALL_HINT)) from None
    message = result.stderr.decode('utf-8', errors='replace')
    if result.returncode == 0:
        if message.strip():     # a download cut short: what is there, as a cut wav
            print('warning: {}: ffmpeg decoded it with errors ({}); using what it '
                  'gave'.format(util.shown_name(path), ffmpeg_reason(message)), file=sys.stderr)
        return
    reason = ffmpeg_reason(message)
    if 'matches no streams' in message:
        raise util.AudioError('{}: holds no audio stream'.format(path))
    if 'No space left' in message:
        raise util.OutputError('{}: no space left to decode {} into ({})'.format(
            os.path.dirname(wav_path) or '.', path, reason))
    raise util.AudioError('{}: ffmpeg cannot decode it ({})'.format(path, reason))


def check_room(ffmpeg, path, wav_path):
    """Raise ``util.OutputError`` where the disk of ``wav_path``'s folder
    has less space free than decoding ``path`` takes (``decoded_size``, so
    that a long file is refused before ffmpeg decodes any of it);
    nothing where ffmpeg does not say how long the audio is."""
    free = util.free_bytes(wav_path)
    if free is None:
        return                  # no such folder: ffmpeg's own error names it
    size = decoded_size(ffmpeg, path)
    if size is not None and free < size:
        raise util.OutputError('{}: not enough disk space to decode {} into: it takes '
                               'about {} there (32-bit float samples), and {} is '
                               'free'.format(os.path.dirname(os.path.abspath(wav_path)), path,
                                             util.byte_size(size), util.byte_size(free)))


# what ffmpeg says of an input: "Duration: 01:02:03.45" and the first audio
# stream's "Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, ..."
DURATION = re.compile(r'Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)')
AUDIO_STREAM = re.compile(r'Audio: .*?, (\d+) Hz, (mono|stereo|(\d+) channels)?')


def decoded_size(ffmpeg, path):
    """About how many bytes of samples ``path``'s first audio stream takes
    decoded as ``decode`` writes it (4 bytes a sample and channel; one
    channel where ffmpeg names a layout other than mono, stereo or N
    channels), from ffmpeg's description of the input: its duration, to
    10 ms, times its rate; None where it gives no duration or rate (a
    stream, a damaged file: ``decode`` then says what is wrong)."""
    try:
        result = subprocess.run([ffmpeg, '-nostdin', '-hide_banner',
                                 '-i', 'file:' + os.path.abspath(path)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
    except OSError:
        return None             # decode says why ffmpeg cannot run
    text = result.stderr.decode('utf-8', errors='replace')
    duration, stream = DURATION.search(text), AUDIO_STREAM.search(text)
    if duration is None or stream is None:
        return None
    hours, minutes, seconds = duration.groups()
    layout, count = stream.group(2), stream.group(3)
    channels = int(count) if count else 2 if layout == 'stereo' else 1
    seconds = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return int(seconds * int(stream.group(1)) * channels * const.SINK_SAMPLE_BYTES)


def ffmpeg_reason(message):
    """The first line of ffmpeg's ``message`` (the cause; the lines after it
    are what it gave up on), less its ``[component @ address]`` tags."""
    for line in message.splitlines():
        line = re.sub(r'^(\[[^\]]*\]\s*)+', '', line).strip()
        if line:
            return line
    return 'no message'

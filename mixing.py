"""Training examples mixed on the fly from speech and music waveforms.

``train.py --mix`` trains on these instead of the npz files of
``make_dataset.py``: every example is drawn afresh, so the model never sees
the same mixture twice. One example is

* a random crop of a speech track (tracks drawn in proportion to their
  length, or with ``balance_speech`` each equally often, so that many
  short tracks of different speakers outweigh a few long ones of one),
  played ``speed`` times as fast (tempo and pitch, as
  ``make_dataset.py --speed``);
* a random crop of a music track, sometimes with a second one summed; a
  track shorter than the crop (a drum loop, a jingle) is repeated to fill
  it, from a random point of the loop (``short_music='silence'``: placed
  in silence instead, as before); with ``balance_music`` every music
  source (``source_name``) is drawn equally often, however much of it
  there is, and ``music_speed`` plays the music faster or slower; with
  ``noise_music`` a share of the crops get a synthetic loop of noise
  bursts added (shakers, brushes: ``noise_loops.py``);
* with ``reverb`` a share of the speech crops heard in a random room
  (``reverb.py``), the speech target with its reverberation; the crop is
  drawn longer by the room's response, so that its first sample already
  carries the reverberation of the speech before it;
* with ``colour`` a share of the speech crops and, drawn apart, of the
  music crops passed through a random equaliser (``colouring.py``), the
  speech target with them; with ``colour_mix`` a share of the examples
  through one equaliser, speech and music alike;
* the two at a speech-to-music power ratio drawn from ``snr_db``; a share of
  examples is speech alone and a share music alone, so that the model learns
  to pass clean speech and to silence pure music;
* the STFT magnitudes of mixture and speech target, divided by the crop's
  peak magnitude and then scaled down by a random gain, since a patch of a
  long recording sits below the recording's peak, by which make_separate.py
  normalises.

Example ``i`` of stream ``s`` depends only on ``(seed, s, i)``: runs repeat
exactly, ChainerMN ranks (streams) draw different examples, and worker
processes may draw them in any order. Memory is the audio, loaded once.
"""
import dataclasses
import os
import re
import sys

import chainer
import numpy as np

import colouring
import const
import decoding
import noise_loops
import reverb
import util


@dataclasses.dataclass(frozen=True)
class MixSettings:
    """How examples are drawn; defaults from const.py."""
    snr_db: tuple = const.MIX_SNR_DB            # speech-to-music power ratio range, dB
    speed: tuple = const.MIX_SPEED              # speech speed factor range
    gain_db: tuple = const.MIX_GAIN_DB          # patch level below the normalised peak, dB
    speech_alone: float = const.MIX_SPEECH_ALONE  # share of examples without music
    music_alone: float = const.MIX_MUSIC_ALONE    # share of examples without speech
    two_music: float = const.MIX_TWO_MUSIC      # share of examples with two music crops
    short_music: str = const.MIX_SHORT_MUSIC[0]  # 'repeat' or 'silence': music shorter than a crop
    music_speed: tuple = const.MIX_MUSIC_SPEED  # music speed factor range (tempo and pitch)
    balance_music: bool = False                 # draw every music source equally often
    balance_speech: bool = False                # draw every speech track equally often
    noise_music: float = const.MIX_NOISE_MUSIC  # share of music with a noise-percussion loop
    colour: float = const.MIX_COLOUR            # share of speech, and of music, crops coloured
    colour_mix: float = const.MIX_COLOUR_MIX    # share of examples coloured as a whole
    reverb: float = const.MIX_REVERB            # share of speech crops heard in a room


def source_name(path):
    """The source a track belongs to: its file name up to ``__``, without the
    running number ``m012-`` that scripts/prepare_corpus.py puts in front
    (``m012-wesnoth__suspense__116s.flac`` -> ``wesnoth``); a name without
    ``__`` is a source of its own. A path written on Windows
    (``C:\\music\\x.flac``, in a manifest) is split at its backslashes too;
    a name with nothing before ``__`` is its own source."""
    stem = os.path.splitext(os.path.basename(path.replace('\\', '/')))[0]
    name = re.sub(r'^[ms]\d+-', '', stem)
    return name.split('__')[0] or stem


def load_tracks(paths, kind, warn=True):
    """``(tracks, kept)``: every file of ``paths`` as 16 kHz mono float32 and
    the paths they came from; unreadable, empty and (nearly) silent files
    are skipped, with a warning naming each unless ``warn`` is False (the
    other processes of an MPI run, whose rank 0 says it once)."""
    tracks, kept = [], []
    for path in paths:
        try:
            audio = decoding.load_audio(path)
            problem = unusable(audio)
        except util.AudioError as err:
            problem = str(err)
        if problem:
            if warn:
                print('warning: skipped {} file {}: {}'.format(kind, path, problem),
                      file=sys.stderr)
            continue
        tracks.append(audio)
        kept.append(path)
    return tracks, kept


def unusable(audio):
    """Why a track ``audio`` (16 kHz samples) cannot be trained on, or None:
    empty, not finite, or so quiet (peak below ``const.SILENT_PEAK_DB`` dB
    of full scale: dither, a channel mean that cancelled) that mixing it at
    an SNR would make its noise the target."""
    if len(audio) == 0:
        return 'holds no samples'
    if not np.all(np.isfinite(audio)):
        return 'not finite'
    peak = float(np.max(np.abs(audio)))
    if peak < 10.0 ** (const.SILENT_PEAK_DB / 20.0):
        return 'silent' if peak == 0.0 else 'nearly silent (peak {:.0f} dB of full scale)'.format(
            20.0 * np.log10(peak))
    return None


class TrackPool:
    """Tracks to crop from, each drawn in proportion to its length, or, given
    ``sources`` (one name per track), each source equally often and its
    tracks in proportion to their length; with ``repeat`` a track shorter
    than the crop is looped, else it lands in silence."""

    def __init__(self, tracks, repeat=False, sources=None):
        self.tracks = tracks
        self.repeat = repeat
        lengths = np.array([len(t) for t in tracks], np.float64)
        self.weights = lengths / lengths.sum()
        if sources is not None:
            names = np.asarray(sources)
            unique = set(sources)
            for name in unique:
                share = names == name
                self.weights[share] = lengths[share] / lengths[share].sum() / len(unique)
        self.seconds = lengths.sum() / const.SR

    def crop(self, rng, n):
        """``n`` samples from a random track at a random offset; a track
        shorter than ``n`` is repeated from a random sample of it
        (``repeat``) or lands at a random place in silence."""
        track = self.tracks[rng.choice(len(self.tracks), p=self.weights)]
        out = np.zeros(n, np.float32)
        if len(track) < n and self.repeat:
            start = rng.integers(len(track))
            out[:] = np.tile(track, n // len(track) + 2)[start:start + n]
        elif len(track) >= n:
            start = rng.integers(len(track) - n + 1)
            out[:] = track[start:start + n]
        else:
            start = rng.integers(n - len(track) + 1)
            out[start:start + len(track)] = track
        return out


def crop_at_speed(rng, pool, n, speed):
    """``n`` samples of a crop of ``pool`` played ``speed`` times as fast
    (tempo and pitch), zero-padded if resampling leaves it short."""
    crop = util.change_speed(pool.crop(rng, int(np.ceil(n * speed)) + const.H), speed)[:n]
    return np.pad(crop, (0, n - len(crop)))


def power(signal):
    return float(np.mean(np.square(signal, dtype=np.float64)))


def with_noise_loop(rng, music):
    """``music`` plus a synthetic noise-percussion loop (noise_loops.py) at
    a power ``const.MIX_NOISE_LEVEL_DB`` relative to it (the loop alone,
    peaking at 1, where the crop is silent)."""
    loop = noise_loops.noise_loop(rng, len(music))
    p_music, p_loop = power(music), power(loop)
    if p_music > 0.0 and p_loop > 0.0:
        ratio = 10.0 ** (rng.uniform(*const.MIX_NOISE_LEVEL_DB) / 10.0)
        loop = loop * np.float32(np.sqrt(p_music / p_loop * ratio))
    return music + loop


class MixingDataset(chainer.dataset.DatasetMixin):
    """``(mix, speech)`` patches ``(1, 512, length)`` float32, drawn on the fly.

    ``len()`` is the examples of one epoch (``epoch_size``); an iterator
    built with ``EpochOffsetOrder`` asks for indices past it in later
    epochs, so every example of a run is new. ``target`` is ``vocal`` (the
    speech magnitude) or ``vocal_psa`` (its phase-sensitive part).
    ``music_sources`` names each music track's source (``source_name``),
    used by ``settings.balance_music``. With ``spectra`` an example also
    holds the mixture's complex spectrum, ``(2, 513, length)`` real and
    imaginary parts, and the speech and mixture waveforms, ``(2, (length - 1)
    * H)``, on the magnitudes' scale (train.py --loss snr).
    """

    def __init__(self, speech, music, length, epoch_size, seed=0, stream=0,
                 target='vocal', settings=MixSettings(), music_sources=None,
                 spectra=False):
        # every track a source of its own: each drawn equally often
        self.speech = TrackPool(speech, sources=list(range(len(speech)))
                                if settings.balance_speech else None)
        self.music = TrackPool(music, repeat=settings.short_music == 'repeat',
                               sources=music_sources if settings.balance_music else None)
        self.length = length
        self.epoch_size = epoch_size
        self.seed = seed
        self.stream = stream
        self.target = target
        self.settings = settings
        self.spectra = spectra
        self.n_samples = (length - 1) * const.H     # gives exactly `length` frames

    def __len__(self):
        return self.epoch_size

    def get_example(self, i):
        rng = np.random.default_rng([self.seed, self.stream, int(i)])
        speech, music = self.draw_sources(rng)
        return self.features(rng, speech, music)

    def draw_sources(self, rng):
        """Speech and music of ``n_samples`` each, at their drawn levels."""
        s = self.settings
        n = self.n_samples
        room = None
        if s.reverb and rng.random() < s.reverb:              # no draw at 0: runs repeat
            room = reverb.random_response(rng)
        warm_up = 0 if room is None else len(room) - 1        # drawn longer by the response
        speech = crop_at_speed(rng, self.speech, n + warm_up, rng.uniform(*s.speed))
        if room is not None:
            speech = reverb.reverberate(speech, room)[warm_up:]
        music = self.music_crop(rng)
        if rng.random() < s.two_music:
            music = music + self.music_crop(rng) * 10.0 ** (rng.uniform(-10.0, 0.0) / 20.0)
        if s.noise_music and rng.random() < s.noise_music:   # no draw at 0: runs repeat
            music = with_noise_loop(rng, music)
        if s.colour:                                          # no draw at 0, as above
            speech, music = (colouring.colour(rng, crop) if rng.random() < s.colour else crop
                             for crop in (speech, music))
        if s.colour_mix and rng.random() < s.colour_mix:     # no draw at 0, as above
            speech, music = colouring.colour_alike(rng, (speech, music))
        condition = rng.random()
        if condition < s.speech_alone:
            return speech, np.zeros_like(music)
        if condition < s.speech_alone + s.music_alone:
            return np.zeros_like(speech), music
        p_speech, p_music = power(speech), power(music)
        if p_speech > 0.0 and p_music > 0.0:
            snr = rng.uniform(*s.snr_db)
            speech = speech * np.float32(np.sqrt(p_music / p_speech * 10.0 ** (snr / 10.0)))
        return speech, music

    def music_crop(self, rng):
        """``n_samples`` of music, at a drawn speed where ``music_speed`` is a
        range (no draw for the default 1.0 to 1.0, so that earlier runs'
        examples repeat exactly)."""
        if tuple(self.settings.music_speed) == (1.0, 1.0):
            return self.music.crop(rng, self.n_samples)
        return crop_at_speed(rng, self.music, self.n_samples,
                             rng.uniform(*self.settings.music_speed))

    def features(self, rng, speech, music):
        """Normalised magnitudes of the mixture and of the speech target (and
        with ``spectra`` the mixture's spectrum and both waveforms, scaled
        alike)."""
        spec_speech = util.stft(speech)
        spec_mix = spec_speech + util.stft(music)
        mix = np.abs(spec_mix)
        if self.target == 'vocal_psa':
            target = util.phase_sensitive_magnitude(spec_speech, spec_mix)
        else:
            target = np.abs(spec_speech)
        peak = float(mix.max())
        scale = 0.0 if peak == 0.0 else 10.0 ** (-rng.uniform(*self.settings.gain_db) / 20.0) / peak
        magnitudes = ((mix[None, 1:] * scale).astype(np.float32),
                      (target[None, 1:] * scale).astype(np.float32))
        if not self.spectra:
            return magnitudes
        return magnitudes + (
            (np.stack((spec_mix.real, spec_mix.imag)) * scale).astype(np.float32),
            (np.stack((speech, speech + music)) * scale).astype(np.float32))


class EpochOffsetOrder:
    """Order sampler for Chainer's iterators: epoch ``e`` visits indices
    ``e * len .. (e + 1) * len - 1`` in order, so that a ``MixingDataset``
    draws new examples every epoch. The order is saved in snapshots, so
    ``-r`` continues the stream."""

    def __call__(self, current_order, current_position):
        return current_order + len(current_order)

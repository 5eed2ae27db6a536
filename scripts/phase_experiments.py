"""Two refinements of the speech estimate docs/MODEL.md ("An eleventh
session") tried and did not adopt.

Runs evaluate.py with its model's estimate replaced by one of:

* ``REFINE=misi``: the network's mask ``M`` (one separation, no views) sets
  the magnitudes of both sources, ``M |X|`` for the speech and
  ``(1 - M) |X|`` for the music, and ``MISI_ITERS`` rounds of multiple
  input spectrogram inversion (Gunawan and Sen, 2010) look for phases that
  make both consistent STFTs: each round shares what the two estimates miss
  of the mixture equally between them, takes each one's STFT, keeps its
  phase with the mask's magnitude and inverts it. Round 0 is the plain
  separation (the mixture's phase);
* ``REFINE=residual``: the music estimate (the mixture minus the speech
  estimate) separated again and the speech found in it added back to the
  speech estimate: what the first pass cut of the speech, if the network
  can tell it from the music it was left with.

Usage: REFINE=misi MISI_ITERS=3 python3 scripts/phase_experiments.py \
    -i build/val_eval -m unet.model --quick --shifts 1 --speeds 1 --csv misi.csv
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cli  # noqa: E402
import evaluate  # noqa: E402
import make_separate  # noqa: E402
import util  # noqa: E402

PROG = 'phase_experiments.py'
DEFAULT_MISI_ROUNDS = 3     # MISI_ITERS when unset
EPILOG = ('Environment: REFINE=misi, the speech estimate after MISI_ITERS rounds of '
          'multiple input spectrogram inversion from the network\'s mask (default {}; 0: '
          'the plain separation; needs --shifts 1 --speeds 1); REFINE=residual, the speech '
          'estimate plus the speech separated from its music estimate. REFINE is required. '
          'The options are evaluate.py\'s; each model\'s estimate is the refined one.'
          ).format(DEFAULT_MISI_ROUNDS)


def network_mask(separator, mixture):
    """The separator's soft speech mask ``(513, frames)`` for the whole
    ``mixture``, as one separation without shifts or speed views applies it."""
    spectrum = util.stft(mixture)
    scale = make_separate.normalisation(float(np.abs(spectrum).max(initial=0.0)))
    masker = util.PatchMasker(separator.mask_fn, **separator.patching)
    masks = masker.push(np.abs(spectrum) * scale)
    masks = np.concatenate([masks, masker.finish()], axis=1)
    return spectrum, separator.mask(masks[:, :spectrum.shape[1]])


def misi_estimate(self, item):
    """Speech after ``MISI_ITERS`` rounds of MISI from the network's mask."""
    if len(self.separator.delays) > 1 or self.separator.speeds:
        raise cli.UserError('REFINE=misi masks once: give --shifts 1 --speeds 1')
    rounds = misi_rounds()
    mixture, n = item.mixture, len(item.mixture)
    spectrum, mask = network_mask(self.separator, mixture)
    magnitude = np.abs(spectrum)
    speech_magnitude, music_magnitude = mask * magnitude, (1.0 - mask) * magnitude
    speech = util.istft(mask * spectrum, n)
    music = util.istft((1.0 - mask) * spectrum, n)
    for _ in range(rounds):
        missing = (mixture - speech - music) / 2.0
        speech_phase = np.angle(util.stft(speech + missing))
        music_phase = np.angle(util.stft(music + missing))
        speech = util.istft(speech_magnitude * np.exp(1j * speech_phase), n)
        music = util.istft(music_magnitude * np.exp(1j * music_phase), n)
    return speech


def misi_rounds():
    """The rounds of MISI in ``$MISI_ITERS`` (a whole number, 0 or more;
    ``DEFAULT_MISI_ROUNDS`` when unset or empty), or ``cli.UserError``."""
    text = os.environ.get('MISI_ITERS', '')
    if not text.strip():
        return DEFAULT_MISI_ROUNDS
    return cli.number('MISI_ITERS=' + text, text, 'the rounds of MISI', 0, whole=True)


def residual_estimate(self, item):
    """Speech estimate plus the speech separated from its music estimate."""
    speech, music = self.separator.separate(item.mixture)
    return speech + self.separator.separate(music)[0]


def build_parser():
    """evaluate.py's options under this script's name, REFINE and
    MISI_ITERS in the epilog."""
    return evaluate.pilot_parser(
        PROG, 'Score evaluate.py\'s items with each model\'s speech estimate '
        'refined after the mask (pilots, not adopted)',
        EPILOG)


def main(argv=None):
    return cli.main(PROG, build_parser(), refined_evaluation, argv)


def refined_evaluation(args):
    """``evaluate.evaluate_main`` with each model's estimate the one
    ``$REFINE`` names; ``evaluate.ModelMethod.estimate`` is put back after."""
    variant = os.environ.get('REFINE', '')
    if variant == 'misi':
        misi_rounds()       # a mistake is found before the first item, not at it
        estimate = misi_estimate
    elif variant == 'residual':
        estimate = residual_estimate
    else:
        sys.exit('phase_experiments.py: set REFINE=misi or REFINE=residual')
    return evaluate.evaluate_replaced(args, [(evaluate.ModelMethod, 'estimate', estimate)])


if __name__ == '__main__':
    sys.exit(main())

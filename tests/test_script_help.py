"""Every option of the scripts in scripts/ and benchmarks/ that build their
parser with ``build_parser()`` is explained in ``-h``, in the script's name."""
import argparse
import importlib
import os
import re
import sys

import pytest

from conftest import ROOT

FOLDERS = ('scripts', 'benchmarks')
for folder in FOLDERS:
    sys.path.insert(0, os.path.join(ROOT, folder))


def scripts_with_parsers():
    found = []
    for folder in FOLDERS:
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith('.py'):
                with open(os.path.join(ROOT, folder, name)) as handle:
                    if '\ndef build_parser(' in handle.read():
                        found.append(name)
    return found


@pytest.mark.parametrize('script', scripts_with_parsers())
def test_every_option_has_help_in_the_scripts_name(script):
    """band_errors.py's --shifts, --speeds and --equalise had a help of a
    default alone, make_samples.py's --model, --mixdown and --separate and
    noise_leak.py's models and --seed none; paired.py printed '(default:
    [-5, 0, 5])' and train_speed.py '(default: [16, 64])'; band_errors.py
    and equalise_reference.py named themselves as whatever ran them."""
    parser = importlib.import_module(script[:-3]).build_parser()
    assert parser.prog == script
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        name = '/'.join(action.option_strings) or action.dest
        text = parser._get_formatter()._expand_help(action) if action.help else ''
        assert re.sub(r'\(default: [^)]*\)', '', text).strip(), '{}: no help'.format(name)
        assert '(default: [' not in text, '{}: {}'.format(name, text)

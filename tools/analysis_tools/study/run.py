"""The studies' one entry point: ``run.py COMMAND [options]``.

    .venv/bin/python tools/analysis_tools/study/run.py small-scale --stage tune
    .venv/bin/python tools/analysis_tools/study/run.py transfer --stage plan
    .venv/bin/python tools/analysis_tools/study/run.py probe CONFIG --scenes S
    .venv/bin/python tools/analysis_tools/study/run.py flops symmim-visible mae

``run.py COMMAND -h`` gives a command's options. Every run a study starts
goes through here too, in a fresh process (``--job``).
"""
import argparse
import importlib
import os
import os.path as osp
import sys

# command -> (module under study/, what it does)
COMMANDS = {
    'small-scale': ('small_scale', 'the equal-compute study '
                    '(docs/small_scale_study.md)'),
    'transfer': ('transfer.command', 'the dense transfer study '
                 '(docs/transfer_study.md)'),
    'probe': ('transfer.probe', "a short scene fine-tune, then the RoI "
              "head scored on the validation garments' boxes"),
    'flops': ('flops', "training FLOPs (and with --time seconds) of a "
              "step of the study's rows"),
}


def main(argv=None):
    """Run ``COMMAND``'s ``main`` with the arguments after it."""
    p = argparse.ArgumentParser(
        prog='run.py', description=__doc__.split('\n\n')[0],
        epilog='commands: ' + '; '.join(f'{c}: {what}' for c, (_, what)
                                        in COMMANDS.items()))
    p.add_argument('command', choices=COMMANDS)
    p.add_argument('args', nargs=argparse.REMAINDER,
                   help="the command's options (run.py COMMAND -h)")
    args = p.parse_args(argv)
    if args.command == 'probe':  # one OpenMP thread unless told otherwise
        os.environ.setdefault('OMP_NUM_THREADS', '1')
    module = importlib.import_module('study.' + COMMANDS[args.command][0])
    return module.main(args.args)


if __name__ == '__main__':
    # the package by its name: its modules are not top-level ones
    sys.path[0] = osp.dirname(osp.dirname(osp.abspath(__file__)))
    main()

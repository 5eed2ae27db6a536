"""train.py, with every rank saving its final U-Net, for tests/test_mpi.py.

Usage: mpiexec -n 2 python tests/train_saving_ranks.py DIR [train.py options]
writes ``DIR/rank{R}.npz`` on each rank R once training has ended.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train  # noqa: E402  (imports compat before chainer)
import chainer  # noqa: E402


def main(folder, argv):
    run_trainer = train.run_trainer

    def run_and_save(args, trainer, unet, how, comm, *rest):
        status = run_trainer(args, trainer, unet, how, comm, *rest)
        chainer.serializers.save_npz(
            os.path.join(folder, 'rank{}.npz'.format(comm.rank)), unet)
        return status
    train.run_trainer = run_and_save
    return train.main(argv)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2:]))

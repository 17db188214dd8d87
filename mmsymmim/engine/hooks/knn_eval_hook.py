"""Report k-NN accuracy of the frozen encoder before and after training."""
import os.path as osp
from typing import Optional

import mmengine
from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS
from ...arg_checks import check_bool, check_int, check_number
from ...evaluation.knn import knn_accuracy
from .hook_utils import bare_model


@HOOKS.register_module()
class KNNEvalHook(Hook):
    """k-NN top-1 of ``model.extract_feat`` features on a labelled set.

    Runs once before training (the randomly initialised encoder, unless the
    run resumes) and once after it, logs both (also as scalar ``knn/top1`` to
    the visualizer's backends), writes ``knn.json`` to the work dir and
    prints a summary: a header line, then one line per evaluation.

    Args:
        bank_dataloader (dict): loader of labelled images for the memory bank.
        test_dataloader (dict): loader of labelled images to classify.
        num_classes (int): number of classes.
        k (int): neighbours. Defaults to 20.
        temperature (float): vote temperature. Defaults to 0.07.
        eval_before (bool): also evaluate before training. Defaults to True.
    """
    priority = 'LOW'

    def __init__(self,
                 bank_dataloader: dict,
                 test_dataloader: dict,
                 num_classes: int,
                 k: int = 20,
                 temperature: float = 0.07,
                 eval_before: bool = True) -> None:
        owner = type(self).__name__
        for key, loader in (('bank_dataloader', bank_dataloader),
                            ('test_dataloader', test_dataloader)):
            if not isinstance(loader, dict) or 'dataset' not in loader:
                raise ValueError(f'{owner}: `{key}` must be a data loader '
                                 f'config (a dict with `dataset`), got '
                                 f'{loader!r}')
        check_int(owner, 'num_classes', num_classes, 2)
        check_int(owner, 'k', k)
        check_number(owner, 'temperature', temperature, 0, low_open=True)
        check_bool(owner, 'eval_before', eval_before)
        self.bank_cfg = bank_dataloader
        self.test_cfg = test_dataloader
        self.num_classes = num_classes
        self.k = k
        self.temperature = temperature
        self.eval_before = eval_before
        self.results = {}
        self._loaders: Optional[tuple] = None

    def _evaluate(self, runner, label: str) -> float:
        from mmengine.runner import Runner
        if self._loaders is None:
            self._loaders = (Runner.build_dataloader(self.bank_cfg),
                             Runner.build_dataloader(self.test_cfg))
        model = bare_model(runner)
        acc = knn_accuracy(model, *self._loaders, self.num_classes, self.k,
                           self.temperature)
        self.results[label] = acc
        runner.logger.info(f'k-NN top-1 (k={self.k}) {label}: {acc:.2f} %')
        # to the visualizer's backends (TensorBoard...) at the current step
        runner.visualizer.add_scalars({'knn/top1': acc}, step=runner.iter)
        return acc

    def before_train(self, runner) -> None:
        if not self.eval_before:
            return
        label = ('random init' if runner.iter == 0 else
                 f'resumed at iter {runner.iter}')
        self._evaluate(runner, label)

    def after_train(self, runner) -> None:
        self._evaluate(runner, f'after {runner.iter} iters')
        n_test = len(self._loaders[1].dataset)
        n_bank = len(self._loaders[0].dataset)
        lines = [f'k-NN top-1 (k={self.k}, bank {n_bank} images, '
                 f'{n_test} test images):']
        lines += [f'  {name:<24s} {acc:6.2f} %'
                  for name, acc in self.results.items()]
        runner.logger.info('\n'.join(lines))
        if runner.rank == 0:
            print('\n'.join(lines), flush=True)
            # atomic: see mmsymmim.engine.checkpoint_safety
            mmengine.dump(dict(k=self.k, bank=n_bank, test=n_test,
                               top1=self.results),
                          osp.join(runner.work_dir, 'knn.json'), indent=2)

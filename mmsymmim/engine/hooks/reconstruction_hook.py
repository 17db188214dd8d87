"""Draw what SymMIM reconstructs, every N iterations, during training."""
from typing import Optional

from mmengine.dist import master_only
from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS
from ...arg_checks import check_int
from ...visualization.reconstruction import (
    default_dataset,
    find_mask_generator,
    images_from_dataset,
    reconstruction_grid,
)
from .hook_utils import bare_model, save_picture


@HOOKS.register_module()
class ReconstructionVisHook(Hook):
    """Every ``interval`` training iterations, draw the reconstruction grid
    (image, online mask, reconstruction, EMA mask; see
    :mod:`mmsymmim.visualization.reconstruction`) of the same images under
    the same masks, so the grids show training progress.

    Each grid goes to ``work_dir/<out_dir>/iter_XXXX.png`` (XXXX = the
    iteration just finished) and, as image ``'reconstruction'``, to the
    runner's visualizer backends (TensorBoard, W&B, local ``vis_data``).
    Runs on the main process only, with the model in eval mode.

    Args:
        interval (int): iterations between grids. Defaults to 50.
        num_images (int): rows. Defaults to 4.
        dataset (dict, optional): dataset config to take the first
            ``num_images`` images from (its pipeline is not used). None: the
            config's k-NN test set if it has a ``KNNEvalHook``, else its
            train set.
        seed (int): seed of the masks. Defaults to 0.
        out_dir (str): folder under the work dir. Defaults to 'vis'.
    """
    priority = 'LOW'

    def __init__(self,
                 interval: int = 50,
                 num_images: int = 4,
                 dataset: Optional[dict] = None,
                 seed: int = 0,
                 out_dir: str = 'vis') -> None:
        owner = type(self).__name__
        check_int(owner, 'interval', interval)
        check_int(owner, 'num_images', num_images)
        check_int(owner, 'seed', seed, 0)
        if not isinstance(out_dir, str) or not out_dir:
            raise ValueError(f'{owner}: `out_dir` must be a folder name '
                             f'under the work dir, got {out_dir!r}')
        if dataset is not None and not isinstance(dataset, dict):
            raise ValueError(f'{owner}: `dataset` must be a dataset config '
                             f'(dict) or None, got {dataset!r}')
        self.interval = interval
        self.num_images = num_images
        self.dataset = dataset
        self.seed = seed
        self.out_dir = out_dir
        self._images = self._mask_generator = None

    @master_only
    def before_train(self, runner) -> None:
        model = bare_model(runner)
        if not hasattr(model, 'reconstruct'):
            raise TypeError(f'ReconstructionVisHook needs a model with '
                            f'`reconstruct` (SymMIM), got {type(model)}')
        self._mask_generator = find_mask_generator(runner.cfg, model)
        self._images = images_from_dataset(
            self.dataset or default_dataset(runner.cfg), self.num_images,
            self._mask_generator.input_size)

    @master_only
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        step = runner.iter + 1
        grid = reconstruction_grid(
            bare_model(runner), self._images, self._mask_generator,
            self.seed)
        save_picture(runner, grid, self.out_dir, f'iter_{step:04d}.png',
                     'reconstruction', step)

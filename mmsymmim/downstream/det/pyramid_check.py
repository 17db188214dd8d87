"""Check that a detector's feature pyramid sits where its heads look.

The RPN lays anchors at ``anchor_generator.strides`` and the RoI extractors
pool at ``1 / featmap_strides``; nothing in mmdet compares these with the
strides the backbone and neck really produce. A ViT-B/16 pyramid (x4, x2,
x1, x0.5) on a patch-4 ViT puts its levels at strides 1-8 while the heads
assume 4-64: RoIs are pooled from the wrong place and the RoI head learns
little, with no error. :func:`check_pyramid_strides` measures the strides
with one forward pass and :class:`PyramidStrideCheckHook` runs it before
training and testing.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def _strides(values) -> list:
    return [s[0] if isinstance(s, (tuple, list)) else s for s in values]


def check_pyramid_strides(model, size: int = 256) -> list:
    """Measured pyramid strides of ``model.extract_feat`` on a ``size`` px
    input; ``ValueError`` naming both sides where the RPN's anchor strides
    or a RoI extractor's ``featmap_strides`` differ from them."""
    param = next(model.parameters())
    was_training = model.training
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(
            torch.zeros(1, 3, size, size, device=param.device))
    model.train(was_training)
    measured = [size / f.shape[-1] for f in feats]
    wanted = {}
    rpn = getattr(model, 'rpn_head', None)
    if rpn is not None and hasattr(rpn, 'prior_generator'):
        wanted['rpn_head.anchor_generator.strides'] = (
            _strides(rpn.prior_generator.strides), len(measured))
    roi = getattr(model, 'roi_head', None)
    for name in ('bbox_roi_extractor', 'mask_roi_extractor'):
        ext = getattr(roi, name, None)
        if ext is not None:
            strides = _strides(ext.featmap_strides)
            wanted[f'roi_head.{name}.featmap_strides'] = (strides,
                                                          len(strides))
    for field, (strides, n) in wanted.items():
        if [float(s) for s in strides] != measured[:n] or n > len(measured):
            raise ValueError(
                f'{field} is {list(strides)}, but the neck gives levels at '
                f'strides {[f"{s:g}" for s in measured]} (measured on a '
                f'{size}-px input): set it to the neck\'s strides, or change '
                f'the neck (e.g. SimpleFeaturePyramid scale_factors)')
    return measured


@HOOKS.register_module()
class PyramidStrideCheckHook(Hook):
    """Run :func:`check_pyramid_strides` before training and testing."""

    def __init__(self, size: int = 256) -> None:
        self.size = size

    def _check(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        check_pyramid_strides(model, self.size)

    def before_train(self, runner) -> None:
        self._check(runner)

    def before_test(self, runner) -> None:
        self._check(runner)

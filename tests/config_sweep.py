"""The config sweep: every config under configs/ trains on the CPU, in its own
data layout (tests/test_config_sweep.py).

A config is classified by what it builds (:func:`classify`): a pretraining
config (a model in ``LOSS_TERMS`` other than a classifier) trains two
iterations; a fine-tune / linear-probe config (``benchmarks/``, an
``ImageClassifier`` whose backbone loads a checkpoint) trains two iterations
and validates once, from the checkpoint its header documents, written a
moment before by that pretraining config; an alias (a short name whose one
line of code is ``_base_ = './<config>.py'``, :func:`alias_target`) is not
trained again but checked to merge to exactly its target;
``NOT_TRAINED_HERE`` names the files trained elsewhere, each with where.
Anything else fails the sweep, so a new config is either trained or placed on
purpose.

:func:`sweep_run` is the one place that says what a sweep run changes in a
config; everything it does not list -- pipeline, model, data preprocessor,
optimiser and its constructor, schedule, hooks, loops -- is the config's own.
"""
import functools
import glob
import os.path as osp
import re

import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_FILES = sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                recursive=True))

# trained by another test; the reason is what a reader needs. (Files under
# configs/_base_/ are bases: trained through the configs that inherit them,
# and a base no config inherits fails the sweep.)
NOT_TRAINED_HERE = {
    'configs/symmim/benchmarks/'
    'mask-rcnn_vit-base-p16_simple-fpn_8xb8-amp-lsj-100e_coco.py':
    'mmdet transfer: tests/test_downstream/test_transfer.py',
    'configs/symmim/benchmarks/'
    'upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py':
    'mmseg transfer: tests/test_downstream/test_transfer.py',
    'configs/mixmask/benchmarks/mask-rcnn_resnet50_fpn_8xb2-1x_coco.py':
    'mmdet transfer from a MixMask R50 checkpoint: '
    'tests/test_downstream/test_mixmask_transfer.py',
    'configs/mixmask/benchmarks/'
    'upernet_resnet50_8xb2-160k_ade20k-512x512.py':
    'mmseg transfer from a MixMask R50 checkpoint: '
    'tests/test_downstream/test_mixmask_transfer.py',
    # the Fashion-MNIST scene configs: the transfer study's smoke run trains
    # each for 2 iterations from a checkpoint it has just written and tests
    # it on 8 scenes
    **{f'configs/{algo}/benchmarks/{name}_fmnist-scenes.py':
       'scene transfer: tests/test_tools/test_analysis_tools/test_study/'
       'test_transfer/test_command.py'
       for algo, name in (
           ('symmim', 'mask-rcnn_vit-tiny-p4_simple-fpn_1xb8-800i'),
           ('symmim', 'upernet_vit-tiny-p4_1xb8-800i'),
           ('mixmask', 'mask-rcnn_resnet18-tiny_fpn_1xb8-800i'),
           ('mixmask', 'upernet_resnet18-tiny_1xb8-800i'))},
    'configs/symmim/benchmarks/retrieval_vit-tiny-p4_fmnist.py':
    'inference only (ImageRetrievalInferencer), nothing to train: '
    'tests/test_models/test_retrievers/test_backbone_retriever.py',
}
# the loss terms each model logs (every one is checked in every iteration)
LOSS_TERMS = {
    'SymMIM': ('loss_mim', 'loss_con'),
    'MixMaskMoCo': ('loss_moco', 'loss_mix'),
    'MixMaskBYOL': ('loss_byol', 'loss_mix'),
    'MixMaskSimSiam': ('loss_simsiam', 'loss_mix'),
    'MixMaskMoCoV3': ('loss_mocov3', 'loss_mix'),
    'ImageClassifier': ('loss', ),
}
ITERS = 2
BATCH = 2  # per process


def rel(path: str) -> str:
    return osp.relpath(path, REPO)


@functools.lru_cache(maxsize=None)
def load(path: str) -> Config:
    """The config (cached: read it, do not change it)."""
    return Config.fromfile(path, import_custom_modules=False)


ALIAS_LINE = re.compile(r"^_base_ = '(\./[\w./-]+\.py)'$")


def alias_target(path: str):
    """The config that ``path`` only renames (its one line of code, comments
    aside, is ``_base_ = './<config>.py'``), as an absolute path; else None."""
    code = [line for line in open(path).read().splitlines()
            if line.strip() and not line.lstrip().startswith('#')]
    found = len(code) == 1 and ALIAS_LINE.match(code[0])
    return (osp.normpath(osp.join(osp.dirname(path), found.group(1)))
            if found else None)


def classify(path: str) -> str:
    """'pretrain', 'benchmark', 'alias', 'base', 'elsewhere'; an
    AssertionError (with what to do) for a config the sweep does not know."""
    if rel(path) in NOT_TRAINED_HERE:
        return 'elsewhere'
    if '/_base_/' in path:
        return 'base'
    if alias_target(path):
        return 'alias'
    cfg = load(path)
    model = cfg.model.type
    assert model in LOSS_TERMS, (
        f'{rel(path)}: model {model!r} is unknown to the sweep: add its loss '
        f'terms to LOSS_TERMS in tests/config_sweep.py, or the file to '
        f'NOT_TRAINED_HERE with the test that trains it')
    if model != 'ImageClassifier':
        return 'pretrain'
    assert '/benchmarks/' in path and pretrained_source(path), (
        f'{rel(path)}: a classifier config outside benchmarks/ or with no '
        f'documented pretraining checkpoint')
    return 'benchmark'


def pretrained_source(path: str) -> str:
    """The pretraining config whose checkpoint a benchmark config documents
    in its header (``--cfg-options ...checkpoint=work_dirs/<config>/...``)."""
    found = re.search(r'--cfg-options \S+=work_dirs/([^/\s]+)/\S+\.pth',
                      open(path).read())
    assert found, f'{rel(path)}: no documented checkpoint in the header'
    matches = [p for p in CONFIG_FILES
               if osp.basename(p) == found.group(1) + '.py']
    assert len(matches) == 1, f'{rel(path)}: {found.group(1)}.py not found'
    return matches[0]


def layout(dataset: dict) -> str:
    """The data layout a dataset config reads."""
    kind = dataset.get('type')
    if kind == 'ImageNet':
        return 'imagenet'
    if kind == 'CustomDataset' and dataset.get('with_label') is False:
        return 'folder'
    if kind == 'FashionMNISTIDX':
        return 'fmnist'
    raise AssertionError(f'dataset {kind!r}: no tiny layout for it; add one '
                         f'to tests/sweep_data.py (make_data) and here')


def backbone_key(cfg: Config) -> tuple:
    """What makes a checkpoint's backbone fit another config's: the family
    (ViT or ResNet), its size and patch."""
    bb = cfg.model.backbone
    family = 'resnet' if 'ResNet' in bb.type else 'vit'
    return family, str(bb.get('arch', bb.get('depth'))), bb.get('patch_size',
                                                                 16)


# --- the one list of what a sweep run changes --------------------------------
def sweep_run(path: str, data: dict, work_dir: str, world: int = 1,
              checkpoint: str = None):
    """``(config file, --cfg-options)`` of the sweep's run of ``path``.

    The only changes a sweep run makes to a config (what it does not cover):

    * batch size: ``train_dataloader.batch_size`` = 2 per process (8 when
      the backbone's ``SplitBatchNorm`` splits the batch into 8 groups);
    * workers: ``num_workers=0``, ``persistent_workers=False`` in the
      train / val / test loaders;
    * length: 2 training iterations: ``train_cfg.max_iters=2`` (iteration
      loops), or ``train_cfg.max_epochs=1`` over the first 2 x batch x
      processes images (``train_dataloader.dataset.indices``; epoch loops);
      the k-NN hook's bank and test sets cut to their first 32 / 16 images;
      the log written every iteration (``default_hooks.logger.interval=1``;
      what is printed, not what is trained);
    * work dir (``--work-dir``);
    * data root: ``data_root`` of the train / val / test sets that read
      ImageNet's layout or a folder (Fashion-MNIST stays Debian's);
    * AMP: where ``optim_wrapper.type`` is ``AmpOptimWrapper`` and no GPU is
      there, the plain ``OptimWrapper`` with the same optimiser, constructor,
      parameter-wise settings and clipping (mmengine's AMP wrapper refuses
      the CPU), in a two-line config that inherits the original;
    * a benchmark config starts from ``checkpoint`` (its header's
      ``--cfg-options model.backbone.init_cfg.checkpoint=...``);
    * several processes: ``env_cfg.dist_cfg.backend=gloo``.
    """
    cfg = load(path)
    norm = cfg.model.backbone.get('norm_cfg') or {}
    batch = norm.get('num_splits', BATCH) if norm.get(
        'type') == 'SplitBatchNorm' else BATCH
    opts = [f'train_dataloader.batch_size={batch}',
            'default_hooks.logger.interval=1']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if not cfg.get(loader):
            continue
        opts += [f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False']
        dataset = cfg[loader].dataset
        if loader == 'test_dataloader' and dataset.get('type') not in (
                'ImageNet', 'CustomDataset'):
            continue  # not read by training (mmpretrain's inferencers do)
        kind = layout(dataset)
        if kind != 'fmnist':
            opts.append(f'{loader}.dataset.data_root={data[kind]}')
    if cfg.train_cfg.get('type') == 'IterBasedTrainLoop':
        opts.append(f'train_cfg.max_iters={ITERS}')
    else:
        opts += ['train_cfg.max_epochs=1',
                 f'train_dataloader.dataset.indices={ITERS * batch * world}']
    for i, hook in enumerate(cfg.get('custom_hooks', [])):
        if hook.type == 'KNNEvalHook':
            opts += [f'custom_hooks.{i}.bank_dataloader.dataset.indices=32',
                     f'custom_hooks.{i}.test_dataloader.dataset.indices=16']
    if checkpoint:
        opts.append(f'model.backbone.init_cfg.checkpoint={checkpoint}')
    if world > 1:
        opts.append('env_cfg.dist_cfg.backend=gloo')
    config = path
    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper' and \
            not torch.cuda.is_available():
        plain = {k: v for k, v in cfg.optim_wrapper.to_dict().items()
                 if k not in ('loss_scale', 'dtype', 'use_fsdp')}
        plain['type'] = 'OptimWrapper'
        config = osp.join(osp.dirname(work_dir),
                          'cpu_' + osp.basename(path))
        with open(config, 'w') as f:
            f.write(f'_base_ = {path!r}\n'
                    f'optim_wrapper = dict(_delete_=True, **{plain!r})\n')
    return config, opts

"""What several hooks do alike: reach the model under the runner's wrapper,
write a picture to the work dir and to the visualizer's backends."""
import os.path as osp

import mmcv
import numpy as np
from mmengine.model import is_model_wrapper


def bare_model(runner):
    """The runner's model, unwrapped from DDP / FSDP / MMDistributed."""
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def save_picture(runner, picture: np.ndarray, out_dir: str, filename: str,
                 tag: str, step: int) -> None:
    """Write ``picture`` (H, W, 3 BGR uint8) to
    ``work_dir/out_dir/filename`` and hand it (as RGB) to the visualizer
    under ``tag`` at ``step`` (TensorBoard, W&B where configured)."""
    mmcv.imwrite(picture, osp.join(runner.work_dir, out_dir, filename))
    runner.visualizer.add_image(tag, picture[..., ::-1].copy(), step=step)

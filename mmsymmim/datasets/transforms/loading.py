"""Image loading that names the file it could not read."""
from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import MMLogger

from mmpretrain.registry import TRANSFORMS

ON_ERROR = ('raise', 'skip')


@TRANSFORMS.register_module()
class SafeLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with an explicit policy for bad files.

    A missing, truncated or undecodable image either stops the run with an
    ``OSError`` naming its path (``on_error='raise'``, the default) or is
    logged as a warning with its path and skipped (``on_error='skip'``: the
    dataset then draws another sample, as mmengine does for ``None``).

    Args:
        on_error (str): 'raise' or 'skip'.
        **kwargs: ``LoadImageFromFile`` arguments.
    """

    def __init__(self, on_error: str = 'raise', **kwargs) -> None:
        if on_error not in ON_ERROR:
            raise ValueError(f'SafeLoadImageFromFile: `on_error` must be one '
                             f'of {ON_ERROR}, got {on_error!r}')
        kwargs.pop('ignore_empty', None)
        super().__init__(ignore_empty=False, **kwargs)
        self.on_error = on_error

    def transform(self, results: dict) -> Optional[dict]:
        path = results.get('img_path', '<no img_path>')
        try:
            return super().transform(results)
        except Exception as e:  # noqa: BLE001 - re-raised with the path
            reason = str(e) or type(e).__name__
            if self.on_error == 'raise':
                raise OSError(f'cannot read image {path}: {reason}') from e
            MMLogger.get_current_instance().warning(
                f'skipping unreadable image {path}: {reason}')
            return None

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", on_error='{self.on_error}')"

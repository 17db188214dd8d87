"""SafeLoadImageFromFile names the unreadable file (stop), or skips it."""
import logging

import numpy as np
import pytest
from mmengine.logging import MMLogger

from mmpretrain.registry import DATASETS


def make_folder(tmp_path):
    import cv2
    folder = tmp_path / 'imgs' / 'a'
    folder.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(folder / f'{i}.png'),
                    np.full((8, 8, 3), 40 * i, np.uint8))
    (folder / '1.png').write_bytes(b'\x89PNG\r\n\x1a\n not really a png')
    return tmp_path / 'imgs'


@pytest.mark.parametrize('on_error', ['raise', 'skip'])
def test_corrupt_image_reported_with_path(tmp_path, on_error):
    root = make_folder(tmp_path)
    ds = DATASETS.build(dict(
        type='CustomDataset', data_root=str(root), with_label=False,
        pipeline=[dict(type='SafeLoadImageFromFile', on_error=on_error),
                  dict(type='PackInputs')]))
    bad = next(i for i in range(len(ds))
               if ds.get_data_info(i)['img_path'].endswith('1.png'))
    if on_error == 'raise':
        with pytest.raises(OSError, match='cannot read image .*a/1.png'):
            ds[bad]
        return
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        out = ds[bad]  # another sample comes back instead
    finally:
        logger.removeHandler(handler)
    assert out['inputs'].shape == (3, 8, 8)
    text = '\n'.join(r.getMessage() for r in records)
    assert 'skipping unreadable image' in text and 'a/1.png' in text

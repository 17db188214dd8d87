"""Hue jitter under NumPy 2.

Why: mmcv 2.1.0's adjust_hue adds ``np.uint8(hue_factor * 255)`` to the hue
channel; for a negative factor NumPy 2 raises "OverflowError: Python integer
-5 out of bounds for uint8" (NumPy 1 wrapped it), so every MoCo v3 / SymMIM
ImageNet pipeline (ColorJitter hue=0.1) crashes on its first negative draw.
Same computation, with the shift wrapped explicitly modulo 256.
Drop when mmcv's adjust_hue casts through int (or NumPy 1 is back).
"""
import numpy as np


def _adjust_hue(img, hue_factor: float, backend=None):
    import cv2
    from mmcv.image.photometric import imread_backend
    from PIL import Image
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor ({hue_factor}) is not in [-0.5, 0.5]')
    if not (isinstance(img, np.ndarray) and img.ndim in (2, 3)):
        raise TypeError('img should be ndarray with dim=[2 or 3].')
    backend = backend or imread_backend
    shift = np.uint8(int(hue_factor * 255) % 256)
    if backend == 'pillow':
        if img.dtype != np.uint8:
            raise TypeError('Pillow backend only supports uint8 images')
        pil_image = Image.fromarray(img[..., ::-1], mode='RGB')
        h, s, v = pil_image.convert('HSV').split()
        np_h = np.array(h, dtype=np.uint8) + shift  # uint8: wraps around
        pil_image = Image.merge('HSV', (Image.fromarray(np_h, 'L'), s, v))
        return np.array(pil_image.convert('RGB'), dtype=img.dtype)[..., ::-1]
    dtype = img.dtype
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    h, s, v = cv2.split(hsv)
    h = h.astype(np.uint8) + shift
    return cv2.cvtColor(cv2.merge([h, s, v]),
                        cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def _patch_adjust_hue() -> None:
    import mmcv
    import mmcv.image
    import mmcv.image.photometric as photometric
    for owner in (mmcv, mmcv.image, photometric):
        owner.adjust_hue = _adjust_hue


_patch_adjust_hue()

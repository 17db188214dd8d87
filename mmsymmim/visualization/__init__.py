from .reconstruction import (
    draw_grid,
    find_mask_generator,
    grid_shape,
    images_from_dataset,
    images_from_folder,
    reconstruct_images,
    reconstruction_grid,
)

__all__ = [
    'draw_grid', 'find_mask_generator', 'grid_shape', 'images_from_dataset',
    'images_from_folder', 'reconstruct_images', 'reconstruction_grid'
]

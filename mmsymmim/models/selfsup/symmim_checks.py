"""SymMIM's checks of what a config gives it: the encoder input and the
decoder, head and backbone that must fit it."""
from mmpretrain.models.heads import MAEPretrainHead

ENCODER_INPUTS = ('mask_token', 'visible')


def check_encoder_input(encoder_input) -> None:
    if encoder_input not in ENCODER_INPUTS:
        raise ValueError(f'SymMIM: `encoder_input` must be one of '
                         f'{ENCODER_INPUTS}, got {encoder_input!r}')


def check_mim_parts(encoder_input: str, backbone, mim_head) -> None:
    """The decoder, head and backbone must fit ``encoder_input``."""
    visible = encoder_input == 'visible'
    uses_token = getattr(backbone, 'mask_token', None) is not None
    if visible and uses_token:
        raise ValueError(
            "SymMIM(encoder_input='visible') never uses the backbone's "
            "mask token (DDP would stop on the unused parameter): set "
            "backbone=dict(use_mask_token=False)")
    if not visible and not uses_token:
        raise ValueError("SymMIM(encoder_input='mask_token') needs "
                         'backbone=dict(use_mask_token=True)')
    is_mae = isinstance(mim_head, MAEPretrainHead)
    if visible != is_mae:
        raise ValueError(
            f"SymMIM(encoder_input={encoder_input!r}) needs "
            f"mim_head={'MAEPretrainHead' if visible else 'SimMIMHead'} "
            f"(and mim_neck="
            f"{'SymMIMDecoder' if visible else 'SimMIMLinearDecoder'}), "
            f'got {type(mim_head).__name__}')
    if is_mae and mim_head.norm_pix:
        raise ValueError('SymMIM: set norm_target=True instead of '
                         'mim_head.norm_pix (one switch for both paths)')

"""SymMIM's checks of what a config gives it: its options (one line naming
the key, the value and what is allowed, before any part is built), the
decoder, head and backbone that must fit the encoder input, and the smallest
batch it trains on."""
from mmpretrain.models.heads import MAEPretrainHead
from ...arg_checks import check_bool, check_choice, check_number

ENCODER_INPUTS = ('mask_token', 'visible')


def check_options(encoder_input, base_momentum, end_momentum,
                  mim_loss_weight, con_loss_weight, symmetric, ema_masked,
                  norm_target) -> None:
    """Each option's type and range (a string from ``--cfg-options`` such as
    ``symmetric=maybe`` is refused, not read as True)."""
    check_choice('SymMIM', 'encoder_input', encoder_input, ENCODER_INPUTS)
    for key, value in (('base_momentum', base_momentum),
                       ('end_momentum', end_momentum)):
        check_number('SymMIM', key, value, 0, 1,
                     why=" (mmengine's EMA convention: 1 - m)")
    for key, value in (('mim_loss_weight', mim_loss_weight),
                       ('con_loss_weight', con_loss_weight)):
        check_number('SymMIM', key, value, 0,
                     why=' (a negative weight maximises its loss)')
    if mim_loss_weight == 0 and con_loss_weight == 0:
        raise ValueError('SymMIM: `mim_loss_weight` and `con_loss_weight` '
                         'are both 0: nothing to train; allowed: at least '
                         'one > 0')
    for key, value in (('symmetric', symmetric), ('ema_masked', ema_masked),
                       ('norm_target', norm_target)):
        check_bool('SymMIM', key, value)


def contrastive_batch_limits(con_loss_weight: float) -> list:
    """``batch_limits()`` of SymMIM (see ``models/utils/batch_limits``)."""
    if con_loss_weight == 0:
        return []
    return [(2, 'the contrastive loss needs a second image (with one, the '
             'only key is the positive: no negative, InfoNCE is 0)', False)]


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

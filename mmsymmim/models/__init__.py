from . import utils  # noqa: F401
from .backbones import SymMIMViT
from .heads import (
    FastMoCoV3Head,
    WeightedContrastiveHead,
    WeightedLatentPredictHead,
)
from .necks import SymMIMDecoder
from .retrievers import BackboneRetriever
from .selfsup import (
    MixMaskBYOL,
    MixMaskMixin,
    MixMaskMoCo,
    MixMaskMoCoV3,
    MixMaskSimSiam,
    SymMIM,
    mixmask_loss,
)

__all__ = [
    'BackboneRetriever', 'FastMoCoV3Head', 'MixMaskBYOL', 'MixMaskMixin',
    'MixMaskMoCo', 'MixMaskMoCoV3', 'MixMaskSimSiam', 'SymMIM',
    'SymMIMDecoder', 'SymMIMViT', 'WeightedContrastiveHead',
    'WeightedLatentPredictHead', 'mixmask_loss'
]

"""Parts for transfer to mmdet and mmseg, opt-in.

``import mmsymmim`` needs neither mmdet nor mmseg; the downstream configs add
the part they need to ``custom_imports``:

* ``mmsymmim.downstream.det``: ViTDet backbone and simple feature pyramid
  (mmdet's registry) plus the layer-decay constructor (Mask R-CNN configs);
* ``mmsymmim.downstream.seg``: the layer-decay constructor (UperNet configs;
  the backbone is mmpretrain's ``VisionTransformer``).
"""

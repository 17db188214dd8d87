from setuptools import find_packages, setup

setup(
    name='mmsymmim',
    version='0.1.0',
    description='SymMIM and MixMask self-supervised pretraining for OpenMMLab',
    packages=find_packages(include=['mmsymmim', 'mmsymmim.*']),
    python_requires='>=3.10',
    install_requires=[
        'torch>=2.1', 'torchvision', 'mmengine==0.10.7', 'mmcv==2.1.0',
        'mmpretrain==1.2.0', 'mmdet==3.3.0', 'mmsegmentation==1.2.2',
        'timm', 'ftfy', 'regex', 'numpy',
    ],
)

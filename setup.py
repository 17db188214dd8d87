import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

MIM_FILES = ['configs', 'tools']  # what `mim train/test mmsymmim ...` needs


def add_mim_extension():
    """Put ``configs`` and ``tools`` into ``mmsymmim/.mim`` for OpenMMLab's
    ``mim`` (it runs ``<package>/.mim/tools/train.py`` and finds configs
    there): links for an editable install, copies for a built one
    (mmpretrain's setup.py does the same)."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif {'sdist', 'bdist_wheel', 'build', 'install'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    repo = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(repo, 'mmsymmim', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src, tar = osp.join(repo, name), osp.join(mim_path, name)
        if osp.islink(tar) or osp.isfile(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), tar)
        else:
            shutil.copytree(src, tar, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmsymmim',
        version='0.1.0',
        description='SymMIM and MixMask self-supervised pretraining for '
        'OpenMMLab',
        # PEP 639: an SPDX expression (setuptools >= 77, which setup.sh
        # pins) instead of a 'License ::' classifier, which setuptools 77+
        # deprecates and refuses beside an expression
        license_expression='Apache-2.0',
        license_files=['LICENSE'],
        classifiers=[
            'Development Status :: 3 - Alpha',
            'Operating System :: POSIX :: Linux',
            'Programming Language :: Python :: 3',
            'Programming Language :: Python :: 3.11',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        packages=find_packages(include=['mmsymmim', 'mmsymmim.*']),
        package_data={
            'mmsymmim': ['.mim/configs/**/*.py', '.mim/tools/**/*.py',
                         '.mim/tools/*.sh']
        },
        python_requires='>=3.10',
        install_requires=[
            'torch>=2.1', 'torchvision', 'mmengine==0.10.7', 'mmcv==2.1.0',
            'mmpretrain==1.2.0', 'mmdet==3.3.0', 'mmsegmentation==1.2.2',
            'timm', 'kornia>=0.9.0', 'ftfy', 'regex', 'numpy',
        ],
        zip_safe=False,
    )

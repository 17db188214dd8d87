"""Where the studies read and write: the repo, the entry point the runs are
spawned through, and the results, work and cache paths that a stopped study
resumes from (the same since the studies began)."""
import os.path as osp

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(osp.dirname(HERE)))
RUN = osp.join(HERE, 'run.py')
# the equal-compute study (run.py small-scale)
STUDY_RESULTS = osp.join(REPO, 'docs/small_scale_study_flops.json')
STUDY_WORK = 'work_dirs/small_scale_flops'  # under REPO
SMOKE_WORK = 'work_dirs/small_scale_smoke'
# the transfer study (run.py transfer)
TRANSFER_RESULTS = osp.join(REPO, 'docs/transfer_study.json')
TRANSFER_CACHE = osp.join(osp.expanduser('~'),
                          '.cache/mmsymmim/transfer_study')

"""ForeachCosineEMA: mmpretrain's CosineEMA, same numbers."""
import pytest
import torch
from mmengine.logging import MessageHub

from mmpretrain.models.utils import CosineEMA
from mmsymmim.models.utils import ForeachCosineEMA


@pytest.fixture
def max_iters():
    """Both EMAs read ``max_iters`` from the current MessageHub (a Runner
    sets it; without one the test relied on an earlier test's hub)."""
    MessageHub.get_instance('test_foreach_ema').update_info('max_iters', 10)
    yield
    MessageHub._instance_dict.pop('test_foreach_ema')


def test_foreach_ema_matches_mmpretrain(max_iters):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8))
    ref = CosineEMA(net, momentum=0.05)
    ours = ForeachCosineEMA(net, momentum=0.05)
    for _ in range(6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net(torch.randn(5, 4))  # moves BN buffers
        ref.update_parameters(net)
        ours.update_parameters(net)
    for (k, a), b in zip(ref.state_dict().items(), ours.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=k)
    # a resumed EMA continues with the right step count
    again = ForeachCosineEMA(net, momentum=0.05)
    again.load_state_dict(ours.state_dict())
    assert again._steps == 6 == int(again.steps)

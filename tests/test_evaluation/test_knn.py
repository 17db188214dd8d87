import pytest
import torch

from mmsymmim.evaluation import knn_predict


def test_hand_computed_vote():
    # bank: two class-0 points near +x, one class-1 point near +y
    bank = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1])
    # query at 45 degrees: cos sims 0.7071 (c0), 0.9899 (c0), 0.7071 (c1)
    q = torch.tensor([[1.0, 1.0]])
    # k=1: nearest is bank[1] -> class 0
    assert knn_predict(bank, labels, q, 2, k=1).tolist() == [0]
    # k=3, T=1: class 0 gets e^0.7071 + e^0.9899 > class 1's e^0.7071
    assert knn_predict(bank, labels, q, 2, k=3,
                       temperature=1.0).tolist() == [0]


def test_weights_beat_counts():
    """Two far class-0 votes lose to one very close class-1 vote at low T."""
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    labels = torch.tensor([1, 0, 0])
    q = torch.tensor([[1.0, 0.1]])  # cos: 0.995 (c1), 0.0995, -0.0995 (c0)
    # T = 1: e^.995 = 2.70 vs e^.0995 + e^-.0995 = 2.01 -> class 1
    assert knn_predict(bank, labels, q, 2, k=3,
                       temperature=1.0).tolist() == [1]
    # T = 100 (votes ~ counts): 1.0100 vs 2.0000 -> class 0
    assert knn_predict(bank, labels, q, 2, k=3,
                       temperature=100.).tolist() == [0]


def test_chunks_and_k_clip():
    torch.manual_seed(0)
    bank = torch.randn(50, 8)
    labels = torch.randint(0, 3, (50, ))
    q = torch.randn(17, 8)
    a = knn_predict(bank, labels, q, 3, k=200, chunk=4)
    b = knn_predict(bank, labels, q, 3, k=50, chunk=100)
    assert torch.equal(a, b)
    # queries equal to bank points with k=1 return their own labels
    assert torch.equal(knn_predict(bank, labels, bank, 3, k=1), labels)


def test_mismatch_raises():
    with pytest.raises(ValueError, match='labels'):
        knn_predict(torch.randn(4, 2), torch.zeros(3, dtype=torch.long),
                    torch.randn(1, 2), 2)

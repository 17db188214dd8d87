"""The frame the study's readout figures share (budget curves, mask ratio):
three panels (k-NN, linear probe, 1 % fine-tune) of top-1 on the Fashion-MNIST
test set, the untrained rows as horizontal lines, one legend below."""
import statistics

from .tables import main_runs, value

READOUTS = (('knn', 'k-NN (k=20)'), ('linear', 'linear probe'),
            ('finetune', '1 %-label fine-tune'))
# colour and line style of each untrained row's horizontal line
FLAT_STYLE = {'raw-pixels': ('black', ':'), 'random-init': ('grey', '-.'),
              'random-init-resnet': ('saddlebrown', ':')}


def untrained_lines(ax, results: dict, rows, metric: str) -> None:
    """A horizontal line at each untrained row's seed mean of ``metric``."""
    for row in rows:
        vals = [value(r['evals']['test'], metric, 'cls')
                for r in main_runs(results, row)]
        vals = [v for v in vals if v is not None]
        if vals:
            colour, style = FLAT_STYLE[row]
            ax.axhline(statistics.mean(vals), color=colour, ls=style, lw=1,
                       label=f'{row} (untrained)')


def readout_panels(path: str, draw, title: str, ncol: int,
                   legend_space: float) -> None:
    """Write a 1x3 figure to ``path``: ``draw(ax, metric)`` fills each
    readout's panel; the legend (``ncol`` columns) takes the bottom
    ``legend_space`` of the figure."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), dpi=110)
    for ax, (metric, name) in zip(axes, READOUTS):
        draw(ax, metric)
        ax.set_title(name, fontsize=10)
    axes[0].set_ylabel('top-1 (%), Fashion-MNIST test')
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=ncol, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, legend_space, 1, 0.95))
    fig.savefig(path)
    plt.close(fig)

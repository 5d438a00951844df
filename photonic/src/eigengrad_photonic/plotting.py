"""Figures for the demo: band diagrams, the permittivity map, the convergence history (matplotlib,
non-interactive backend; every function writes one PNG and returns its path)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .lattice import KPath, Lattice  # noqa: E402


def _shade_gap(ax, f: np.ndarray, m: int, color: str, label: str) -> None:
    top, bot = np.max(f[:, m - 1]), np.min(f[:, m])
    if bot > top:
        ax.axhspan(top, bot, color=color, alpha=0.25, lw=0, label=f"{label}: {100 * 2 * (bot - top) / (bot + top):.1f} %")


def band_diagram(path: Path, kp: KPath, curves: dict[str, np.ndarray], m: int, title: str, nbands: int = 6) -> Path:
    """Bands ``f (nk, nb)`` along ``kp`` for each labelled structure, the gap above band ``m`` shaded."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    colors = ["tab:gray", "tab:blue", "tab:red", "tab:green"]
    for (label, f), c in zip(curves.items(), colors):
        ax.plot(kp.x, f[:, :nbands], color=c, lw=1.4, label=[label] + [None] * (nbands - 1))
        _shade_gap(ax, f, m, c, f"gap {m}→{m + 1} {label}")
    ax.set_xticks(kp.ticks, kp.labels)
    ax.set_xlim(kp.x[0], kp.x[-1])
    for t in kp.ticks:
        ax.axvline(t, color="k", lw=0.5)
    ax.set_ylim(0, None)
    ax.set_ylabel("frequency ωa/2πc")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def structure(path: Path, lattice: Lattice, maps: dict[str, np.ndarray], cells: int = 3) -> Path:
    """Permittivity maps, ``cells × cells`` unit cells each (lattice-vector axes)."""
    fig, axes = plt.subplots(1, len(maps), figsize=(3.6 * len(maps), 3.4), squeeze=False)
    for ax, (label, eps) in zip(axes[0], maps.items()):
        tiled = np.tile(eps, (cells, cells))
        n = tiled.shape[0]
        u = np.arange(n + 1) / eps.shape[0]
        U, V = np.meshgrid(u, u, indexing="ij")
        X = U * lattice.vectors[0, 0] + V * lattice.vectors[1, 0]
        Y = U * lattice.vectors[0, 1] + V * lattice.vectors[1, 1]
        im = ax.pcolormesh(X, Y, tiled, cmap="Greys", vmin=1, vmax=max(12, float(eps.max())), shading="flat")
        ax.set_aspect("equal")
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[0].tolist(), label="ε", shrink=0.8)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def history(path: Path, runs: dict[str, np.ndarray], reference: dict[str, float] | None = None) -> Path:
    """Gap–midgap ratio (%) per reported optimizer step for each run, with horizontal reference lines."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, r in runs.items():
        ax.plot(np.arange(len(r)), 100 * np.asarray(r), marker="o", ms=3, label=label)
    for label, v in (reference or {}).items():
        ax.axhline(100 * v, ls="--", lw=0.8, color="k")
        ax.text(0, 100 * v, label, fontsize=7, va="bottom")
    ax.set_xlabel("optimizer step (as reported to the callback)")
    ax.set_ylabel("gap–midgap ratio (%)")
    ax.set_ylim(max(-30, ax.get_ylim()[0]), None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

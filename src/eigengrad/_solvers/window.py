"""Which computed pairs the user asked for: order by distance from the target, keep ``k``, and keep
the rest as estimates of the next eigenvalues (``guard``), used to detect a cut cluster."""

from __future__ import annotations

from .._backend import Array, namespace

HERMITIAN_WHICH = ("smallest", "largest")
NATIVE_HERMITIAN = ("lobpcg", "lanczos")  # written once against the array API: jit-able, any device
GENERAL_WHICH = ("largest_real", "smallest_real", "largest_magnitude", "smallest_magnitude",
                 "largest_imag", "smallest_imag")


def check_hermitian_options(which: str, sigma, solver, routine: str, B=None) -> None:
    """``eigsh``'s window and solver choice, checked the same way by both front ends."""
    if which not in HERMITIAN_WHICH:
        raise ValueError(f"{routine}: which must be one of {HERMITIAN_WHICH}, got {which!r}")
    if sigma is not None and solver in NATIVE_HERMITIAN:
        raise ValueError(f"{routine}: sigma (eigenvalues nearest a shift) needs solver='arpack' "
                         f"(shift-invert) or your own solver; {solver!r} finds the smallest or largest.")
    if B is not None and solver == "lanczos":
        raise ValueError(f"{routine}: solver='lanczos' does not take B; use solver='lobpcg' for A v = λ B v")
    if not (solver in (*NATIVE_HERMITIAN, "arpack", "primme") or callable(solver)):
        raise ValueError(f"{routine}: solver must be one of {(*NATIVE_HERMITIAN, 'arpack', 'primme')} or a callable, "
                         f"got {solver!r}")


def check_general_options(which: str, sigma, solver, routine: str) -> None:
    """``eigs``'s window and solver choice."""
    if sigma is None and which not in GENERAL_WHICH:
        raise ValueError(f"{routine}: which must be one of {GENERAL_WHICH}, got {which!r}")
    if sigma is not None and solver == "arnoldi":
        raise ValueError(f"{routine}: sigma (eigenvalues nearest a shift) needs solver='arpack' "
                         "(shift-invert) or your own solver; 'arnoldi' finds an end of the spectrum.")
    if not (solver in ("arnoldi", "arpack") or callable(solver)):
        raise ValueError(f"{routine}: solver must be 'arnoldi', 'arpack' or a callable, got {solver!r}")


def key(xp, w: Array, which: str, sigma) -> Array:
    """Distance into the spectrum from the target: the wanted pairs have the smallest keys."""
    if sigma is not None:
        return xp.abs(w - sigma)
    return {
        "smallest": lambda: xp.real(w), "largest": lambda: -xp.real(w),
        "largest_real": lambda: -xp.real(w), "smallest_real": lambda: xp.real(w),
        "largest_magnitude": lambda: -xp.abs(w), "smallest_magnitude": lambda: xp.abs(w),
        "largest_imag": lambda: -xp.imag(w), "smallest_imag": lambda: xp.imag(w),
    }[which]()


def split(w: Array, V: Array, k: int, which: str, sigma=None, hermitian: bool = True) -> tuple[Array, Array, Array]:
    """``(w_k, V_k, guard)``: the ``k`` pairs nearest the target (ascending for Hermitian problems,
    in target order otherwise) and the other eigenvalues."""
    xp = namespace(w)
    order = xp.argsort(key(xp, w, which, sigma), stable=True)
    sel, rest = order[:k], order[k:]
    if hermitian:
        sel = xp.take(sel, xp.argsort(xp.take(w, sel)), axis=0) if k > 0 else sel
    return xp.take(w, sel, axis=0), xp.take(V, sel, axis=1), xp.take(w, rest, axis=0)

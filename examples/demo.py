"""`make demo`: the photonic band-gap demo of the eigengrad-photonic package
(``photonic/src/eigengrad_photonic/demo.py``; installed, it is also the ``eigengrad-photonic-demo``
command). Options: ``--quick``, ``--full``, ``--out DIR``, ``--iterations N``, ``--method``."""

from eigengrad_photonic.demo import main

if __name__ == "__main__":
    main()

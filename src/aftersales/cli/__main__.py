"""``python -m aftersales.cli``: the same commands as ``aftersales``."""

from aftersales.cli import main

main()

"""`befriend serve`, with moto's transaction backup narrowed to the items a transaction names.

    python -m bench.load_moto serve --host 127.0.0.1 --port 8000 --no-demo

befriend writes every change as one transaction of ten or more items, and stock moto deep-
copies the whole table once for every item a transaction names, so on stock moto each
change costs ten deep copies of the whole table, which grows with every change: a minute
of fifty visitors makes moto, which answers one request at a time, slower than the app's
five-second read timeout. `narrow_transaction_backup` (bench/moto_patches.py) backs up the
items a transaction names instead, and restores the same state stock moto restores.
Nothing else changes; `bench/load.py --stock-moto` runs the serve unadjusted.
"""

from __future__ import annotations

if __name__ == "__main__":
    from bench.moto_patches import narrow_transaction_backup

    narrow_transaction_backup()
    from befriend.cli import main

    main()

"""Work over stored data, outside a visitor's request: the scheduled sweep and redrive,
ledger verification, and importing and exporting people."""

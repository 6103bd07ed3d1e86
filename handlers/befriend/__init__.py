"""befriend: a preference center and consent ledger for permission marketing."""

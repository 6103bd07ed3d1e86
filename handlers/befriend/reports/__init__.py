"""Reports and their outputs: the recount that checks the counters, report text, charts
and spreadsheet cells, and the playbook's summary."""

"""Reports (M14 §4): collections, deliveries and accounts per province and period, from the report day items the
state changes keep up to date (``core.tallies``), role-scoped, exported to Excel and CSV."""

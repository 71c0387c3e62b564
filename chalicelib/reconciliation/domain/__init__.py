"""Pure reconciliation rules: settlement files read into canonical lines, and every line classified."""

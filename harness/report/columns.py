"""Column names shared by the report's tables and figures."""

SMALLEST_P = "smallest p (level needed)"

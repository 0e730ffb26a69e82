"""Progress tables in cell outputs, one reader per format."""

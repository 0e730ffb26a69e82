"""Reading notebooks: files and folders to notebook cells (bytes, JSON, version, cells)."""

"""`make demo`: a real incident replayed against emulated AWS, with a readable report."""
